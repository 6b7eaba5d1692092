#ifndef BILLSYNC_CSPAWN_H
#define BILLSYNC_CSPAWN_H

#include <spawn.h>

/// glibc's extensions for starting a child, which Swift's Glibc module does not import: close
/// every descriptor from `lowest` up in the child (2.34), start it in `path` (2.29), and a pipe
/// whose ends no other child inherits (pipe2 with O_CLOEXEC).
int billsync_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int lowest);
int billsync_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);
int billsync_pipe_cloexec(int ends[2]);

#endif
