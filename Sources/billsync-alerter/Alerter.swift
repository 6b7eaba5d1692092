import ArgumentParser

@main
struct Alerter: AsyncParsableCommand {
    func run() async throws {}
}
