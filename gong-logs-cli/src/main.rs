use clap::Parser;

/// Pull Gong audit logs (GET /v2/logs).
#[derive(Debug, Parser)]
#[command(name = "gong-logs", version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
