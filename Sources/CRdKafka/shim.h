// The C API of librdkafka (>= 2.2), including the mock cluster used by the fault-injection tests.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
