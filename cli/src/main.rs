//! `kinesis-tables`: check specs, list options, print generated code.
//!
//! Exit status: 0 when everything is valid, 1 when a spec has errors,
//! 2 on a usage or I/O error.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "kinesis-tables", version, about = "Declarative compiler for Amazon Kinesis Data Streams tables")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check specs and print every diagnostic.
    Check {
        /// Spec files.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
        /// Treat warnings as errors.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// List every connector and format option with its type and default.
    Options {
        /// Only the options of this connector.
        #[arg(long, value_parser = ["kinesis", "kinesis-legacy", "datagen", "print", "blackhole"])]
        connector: Option<String>,
    },
    /// Print the reference spec listing every option (templates/reference.yaml).
    Reference,
    /// Print a table's Avro schema (as Flink derives it) or a JSON Schema of
    /// its json records; with `--spec`, the JSON Schema of the spec language
    /// (what `schema/kinesis-tables.schema.json` holds).
    Schema {
        /// The spec file.
        #[arg(value_name = "SPEC", required_unless_present = "spec", requires = "table")]
        spec_file: Option<std::path::PathBuf>,
        /// The table.
        #[arg(value_name = "TABLE")]
        table: Option<String>,
        /// The Avro schema Flink's `avro` format derives from the table.
        #[arg(long, group = "what")]
        avro: bool,
        /// A JSON Schema of the table's records in the `json` format.
        #[arg(long, group = "what")]
        json_schema: bool,
        /// The JSON Schema of spec files (for editors).
        #[arg(long, group = "what", conflicts_with_all = ["spec_file", "table"])]
        spec: bool,
    },
    /// Print the Rust code generated for specs.
    Generate {
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
    },
    /// Create a pipeline crate NAME from templates/pipeline-crate: a spec,
    /// build.rs, main.rs and a transform stub that compiles.
    New {
        /// The crate's directory and name (also the pipeline's).
        name: std::path::PathBuf,
    },
    /// Build one binary per pipeline of a spec. Transforms named
    /// `crate::transforms::…` live in a Rust file next to the spec with the
    /// spec's name (`clicks.yaml` → `clicks.rs`).
    Build {
        /// The spec file.
        spec: std::path::PathBuf,
        /// Where the binaries go.
        #[arg(long, default_value = "target/pipelines")]
        out: std::path::PathBuf,
        /// Cargo profile (`release`, or `dev` for a quick debug build).
        #[arg(long, default_value = "release")]
        profile: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    match cli.command {
        Command::Check { paths, deny_warnings } => {
            let mut status = 0u8;
            for p in &paths {
                let src = match std::fs::read_to_string(p) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("error: cannot read `{}`: {e}", p.display());
                        return ExitCode::from(2);
                    }
                };
                let checked = kinesis_tables_codegen::check_source(&p.display().to_string(), &src);
                if !checked.diags.is_empty() {
                    anstream::eprint!("{}", checked.render(color));
                }
                let (e, w) = (checked.error_count(), checked.warning_count());
                if e > 0 || (deny_warnings && w > 0) {
                    eprintln!("{}: {e} error(s), {w} warning(s)", p.display());
                    status = 1;
                } else {
                    eprintln!(
                        "{}: ok, {} table(s), {} pipeline(s), {w} warning(s)",
                        p.display(),
                        checked.tables.len(),
                        checked.pipelines.len()
                    );
                }
            }
            ExitCode::from(status)
        }
        Command::Options { connector } => print(&kinesis_tables_codegen::reference::options_text(connector.as_deref())),
        Command::Reference => print(&kinesis_tables_codegen::reference::reference_yaml()),
        Command::Generate { paths } => {
            let mut all = Vec::new();
            for p in &paths {
                let src = match std::fs::read_to_string(p) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("error: cannot read `{}`: {e}", p.display());
                        return ExitCode::from(2);
                    }
                };
                let c = kinesis_tables_codegen::check_source(&p.display().to_string(), &src);
                if c.error_count() > 0 {
                    anstream::eprint!("{}", c.render(color));
                    return ExitCode::from(1);
                }
                all.push(c);
            }
            print(&kinesis_tables_codegen::generate(&all))
        }
        Command::Schema { spec_file, table, avro, json_schema, spec } => match (spec_file, table) {
            _ if spec => print(&schema::pretty(&kinesis_tables_codegen::schema::spec::spec_schema())),
            (Some(file), Some(table)) if avro || json_schema => {
                schema::table(&file, &table, if avro { schema::What::Avro } else { schema::What::JsonSchema }, color)
            }
            _ => {
                eprintln!("error: say what to print: `schema SPEC TABLE --avro`, `schema SPEC TABLE --json-schema` or `schema --spec`");
                ExitCode::from(2)
            }
        },
        Command::Build { spec, out, profile } => build::build(&spec, &out, &profile, color),
        Command::New { name } => build::new_crate(&name),
    }
}

mod build;
mod schema;

fn print(s: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
