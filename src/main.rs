//! The `chatprobe` binary: parse arguments, run, map the outcome to an exit code.

use clap::Parser;

fn main() {
    let cli = chatprobe::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(3);
        }
    };
    let code = runtime.block_on(chatprobe::cli::main(cli));
    std::process::exit(code);
}
