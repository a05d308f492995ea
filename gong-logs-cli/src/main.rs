//! The `gong-logs` binary: everything lives in the library (`src/lib.rs`).

fn main() -> std::process::ExitCode {
    gong_logs_cli::main()
}
