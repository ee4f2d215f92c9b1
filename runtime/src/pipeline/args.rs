//! A pipeline binary's command line. Every flag can also come from an
//! environment variable (`--checkpoint-dir` from `KT_CHECKPOINT_DIR`, ...);
//! the flag wins when both are given.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};

use super::{PipelineOptions, parse_duration};
use crate::policy::OnDataLoss;

/// How the binary writes its logs (and, with `--progress`, its progress) to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line (tracing-subscriber's JSON layer), for log shippers.
    Json,
}

const ABOUT: &str = "Runs the pipeline until SIGINT or SIGTERM (then drains, commits and exits 0;\n\
a second SIGINT or SIGTERM exits at once, committing nothing more).";

const AFTER_HELP: &str = "Every option can also be set by the environment variable named after it; \
the option wins when both are given.\n\
The endpoint, region and credentials come from the spec and the standard AWS environment \
(AWS_ENDPOINT_URL, AWS_REGION, the credentials chain). RUST_LOG sets logging.\n\
Exit codes: 0 success, 1 failure, 2 usage or the checkpoint locked by another process, \
130/143 a second SIGINT/SIGTERM.";

/// The flags; each names its environment variable in [`ENV`].
#[derive(Parser, Debug)]
#[command(about = ABOUT, after_help = AFTER_HELP, disable_version_flag = true)]
struct Args {
    /// Where checkpoints live (default: checkpoints) [env: KT_CHECKPOINT_DIR]
    #[arg(long, value_name = "DIR")]
    checkpoint_dir: Option<PathBuf>,
    /// Exit 0 once caught up with no records for DURATION (5s, 500ms, 2m) [env: KT_STOP_WHEN_IDLE]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    stop_when_idle: Option<Duration>,
    /// After a stop, wait at most DURATION (default 25s) for the sink to write what it holds;
    /// then commit what was written, report what was not, and exit 1 [env: KT_SHUTDOWN_TIMEOUT]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    shutdown_timeout: Option<Duration>,
    /// A position past the stream's retention, or a record the sink refuses: stop with an error
    /// naming it (fail, the default), or skip it, count it in kinesis_tables_data_loss_total and
    /// go on [env: KT_ON_DATA_LOSS]
    #[arg(long, value_name = "fail|continue", value_parser = parse_on_data_loss)]
    on_data_loss: Option<OnDataLoss>,
    /// Serve Prometheus metrics at http://ADDR/metrics, and the probes /healthz (the run loop is alive) and /readyz (started, leases without errors) [env: KT_METRICS_ADDR]
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    metrics_addr: Option<SocketAddr>,
    /// Print progress to stderr (the default on a terminal; KT_PROGRESS=false turns it off)
    /// [env: KT_PROGRESS]
    #[arg(long)]
    progress: bool,
    /// Log lines as text (the default) or JSON [env: KT_LOG_FORMAT]
    #[arg(long, value_name = "text|json", value_parser = parse_log_format)]
    log_format: Option<LogFormat>,
}

/// Each flag's environment variable.
pub(super) const ENV: [(&str, &str); 7] = [
    ("--checkpoint-dir", "KT_CHECKPOINT_DIR"),
    ("--stop-when-idle", "KT_STOP_WHEN_IDLE"),
    ("--shutdown-timeout", "KT_SHUTDOWN_TIMEOUT"),
    ("--on-data-loss", "KT_ON_DATA_LOSS"),
    ("--metrics-addr", "KT_METRICS_ADDR"),
    ("--progress", "KT_PROGRESS"),
    ("--log-format", "KT_LOG_FORMAT"),
];

fn parse_on_data_loss(text: &str) -> Result<OnDataLoss, String> {
    text.parse()
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|e| format!("`{text}`: {e} (an address such as 127.0.0.1:9100)"))
}

fn parse_log_format(text: &str) -> Result<LogFormat, String> {
    LogFormat::from_str(text, false).map_err(|_| format!("`{text}` is neither `text` nor `json`"))
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("`{text}` is neither true nor false")),
    }
}

/// What the command line and the environment asked for.
#[derive(Debug)]
pub(super) struct Cli {
    pub(super) options: PipelineOptions,
    /// `--progress` or `KT_PROGRESS`; `None`: neither was given.
    pub(super) progress: Option<bool>,
}

/// Parses `args` (the first is the program) with `env` for the flags not
/// given. An error is clap's: help (exit 0) or a usage error (exit 2).
pub(super) fn parse<I, T>(name: &str, args: I, env: impl Fn(&str) -> Option<OsString>) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut cmd = Args::command().bin_name(name.to_owned());
    let matches = cmd.try_get_matches_from_mut(args)?;
    let mut a = Args::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))?;
    // The environment, for what the command line left unset.
    let mut env_error = None;
    let mut from_env = |flag: &str| -> Option<String> {
        let var = env_name(flag);
        let value = env(var)?;
        match value.into_string() {
            Ok(v) => Some(v),
            Err(v) => {
                env_error.get_or_insert(format!("{var}={}: not UTF-8", v.to_string_lossy()));
                None
            }
        }
    };
    let mut errors = Vec::new();
    macro_rules! env_or {
        ($field:expr, $flag:literal, $parse:expr) => {
            if $field.is_none()
                && let Some(v) = from_env($flag)
            {
                match $parse(v.as_str()) {
                    Ok(x) => $field = Some(x),
                    Err(e) => errors.push(format!("invalid value '{v}' for {} ({}): {e}", env_name($flag), $flag)),
                }
            }
        };
    }
    env_or!(a.checkpoint_dir, "--checkpoint-dir", |v: &str| Ok::<_, String>(PathBuf::from(v)));
    env_or!(a.stop_when_idle, "--stop-when-idle", parse_duration);
    env_or!(a.shutdown_timeout, "--shutdown-timeout", parse_duration);
    env_or!(a.on_data_loss, "--on-data-loss", parse_on_data_loss);
    env_or!(a.metrics_addr, "--metrics-addr", parse_addr);
    env_or!(a.log_format, "--log-format", parse_log_format);
    let mut progress = a.progress.then_some(true);
    env_or!(progress, "--progress", parse_bool);
    if let Some(e) = env_error.into_iter().chain(errors).next() {
        return Err(cmd.error(ErrorKind::ValueValidation, e));
    }
    let defaults = PipelineOptions::default();
    let options = PipelineOptions {
        checkpoint_dir: a.checkpoint_dir.unwrap_or(defaults.checkpoint_dir),
        stop_when_idle: a.stop_when_idle,
        shutdown_timeout: a.shutdown_timeout.unwrap_or(defaults.shutdown_timeout),
        on_data_loss: a.on_data_loss.unwrap_or(defaults.on_data_loss),
        metrics_addr: a.metrics_addr,
        log_format: a.log_format.unwrap_or_default(),
        ..defaults
    };
    Ok(Cli { options, progress })
}

fn env_name(flag: &str) -> &'static str {
    ENV.iter().find(|(f, _)| *f == flag).map_or("", |(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::DEFAULT_SHUTDOWN_TIMEOUT;
    use super::*;

    fn parse_with(args: &[&str], env: &[(&str, &str)]) -> Result<Cli, clap::Error> {
        let env: HashMap<String, OsString> = env.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect();
        parse("pipe", std::iter::once("pipe").chain(args.iter().copied()), |var| env.get(var).cloned())
    }

    /// A usage error: exit 2, on stderr, and its text.
    fn usage_error(args: &[&str], env: &[(&str, &str)]) -> String {
        let e = parse_with(args, env).expect_err("a usage error");
        assert!(e.use_stderr(), "{e}");
        assert_eq!(e.exit_code(), 2, "{e}");
        e.to_string()
    }

    #[test]
    fn every_flag_keeps_its_name_and_meaning() {
        let cli = parse_with(
            &[
                "--checkpoint-dir",
                "/var/cp",
                "--stop-when-idle",
                "5s",
                "--shutdown-timeout",
                "500ms",
                "--on-data-loss",
                "continue",
                "--metrics-addr",
                "127.0.0.1:9100",
                "--progress",
                "--log-format",
                "json",
            ],
            &[],
        )
        .unwrap();
        let o = cli.options;
        assert_eq!(o.checkpoint_dir, PathBuf::from("/var/cp"));
        assert_eq!(o.stop_when_idle, Some(Duration::from_secs(5)));
        assert_eq!(o.shutdown_timeout, Duration::from_millis(500));
        assert_eq!(o.on_data_loss, OnDataLoss::Continue);
        assert_eq!(o.metrics_addr, Some("127.0.0.1:9100".parse().unwrap()));
        assert_eq!(o.log_format, LogFormat::Json);
        assert_eq!(cli.progress, Some(true));
    }

    #[test]
    fn nothing_given_is_the_defaults() {
        let cli = parse_with(&[], &[]).unwrap();
        let (o, d) = (cli.options, PipelineOptions::default());
        assert_eq!(o.checkpoint_dir, d.checkpoint_dir);
        assert_eq!(o.stop_when_idle, None);
        assert_eq!(o.shutdown_timeout, DEFAULT_SHUTDOWN_TIMEOUT);
        assert_eq!(o.on_data_loss, OnDataLoss::Fail);
        assert_eq!(o.metrics_addr, None);
        assert_eq!(o.log_format, LogFormat::Text);
        assert_eq!(cli.progress, None, "progress defaults to whether stderr is a terminal");
    }

    #[test]
    fn every_flag_also_comes_from_the_environment() {
        let cli = parse_with(
            &[],
            &[
                ("KT_CHECKPOINT_DIR", "/env/cp"),
                ("KT_STOP_WHEN_IDLE", "2m"),
                ("KT_SHUTDOWN_TIMEOUT", "10s"),
                ("KT_ON_DATA_LOSS", "continue"),
                ("KT_METRICS_ADDR", "0.0.0.0:9200"),
                ("KT_PROGRESS", "false"),
                ("KT_LOG_FORMAT", "json"),
            ],
        )
        .unwrap();
        let o = cli.options;
        assert_eq!(o.checkpoint_dir, PathBuf::from("/env/cp"));
        assert_eq!(o.stop_when_idle, Some(Duration::from_secs(120)));
        assert_eq!(o.shutdown_timeout, Duration::from_secs(10));
        assert_eq!(o.on_data_loss, OnDataLoss::Continue);
        assert_eq!(o.metrics_addr, Some("0.0.0.0:9200".parse().unwrap()));
        assert_eq!(o.log_format, LogFormat::Json);
        assert_eq!(cli.progress, Some(false), "KT_PROGRESS=false turns progress off even on a terminal");
        assert_eq!(parse_with(&[], &[("KT_PROGRESS", "1")]).unwrap().progress, Some(true));
    }

    #[test]
    fn the_flag_wins_over_the_environment() {
        let env = [
            ("KT_CHECKPOINT_DIR", "/env/cp"),
            ("KT_STOP_WHEN_IDLE", "2m"),
            ("KT_SHUTDOWN_TIMEOUT", "10s"),
            ("KT_ON_DATA_LOSS", "continue"),
            ("KT_METRICS_ADDR", "0.0.0.0:9200"),
            ("KT_PROGRESS", "false"),
            ("KT_LOG_FORMAT", "json"),
        ];
        let cli = parse_with(
            &[
                "--checkpoint-dir=/flag/cp",
                "--stop-when-idle",
                "3s",
                "--shutdown-timeout",
                "1s",
                "--on-data-loss",
                "fail",
                "--metrics-addr",
                "127.0.0.1:1",
                "--progress",
                "--log-format",
                "text",
            ],
            &env,
        )
        .unwrap();
        let o = cli.options;
        assert_eq!(o.checkpoint_dir, PathBuf::from("/flag/cp"));
        assert_eq!(o.stop_when_idle, Some(Duration::from_secs(3)));
        assert_eq!(o.shutdown_timeout, Duration::from_secs(1));
        assert_eq!(o.on_data_loss, OnDataLoss::Fail);
        assert_eq!(o.metrics_addr, Some("127.0.0.1:1".parse().unwrap()));
        assert_eq!(o.log_format, LogFormat::Text);
        assert_eq!(cli.progress, Some(true));
        // A bad value in the environment is not looked at when the flag is given.
        assert!(parse_with(&["--stop-when-idle", "3s"], &[("KT_STOP_WHEN_IDLE", "soon")]).is_ok());
    }

    #[test]
    fn bad_values_are_usage_errors_that_name_the_flag_or_variable() {
        let e = usage_error(&["--stop-when-idle", "5"], &[]);
        assert!(e.contains("--stop-when-idle") && e.contains("no unit"), "{e}");
        let e = usage_error(&["--shutdown-timeout", "99999999999999999999999h"], &[]);
        assert!(e.contains("--shutdown-timeout") && e.contains("too long"), "{e}");
        let e = usage_error(&["--on-data-loss", "ignore"], &[]);
        assert!(e.contains("neither `fail` nor `continue`"), "{e}");
        let e = usage_error(&["--metrics-addr", "localhost"], &[]);
        assert!(e.contains("--metrics-addr"), "{e}");
        let e = usage_error(&["--log-format", "xml"], &[]);
        assert!(e.contains("neither `text` nor `json`"), "{e}");
        let e = usage_error(&["--checkpoint-dir"], &[]);
        assert!(e.contains("--checkpoint-dir"), "{e}");
        let e = usage_error(&["--frobnicate"], &[]);
        assert!(e.contains("--frobnicate"), "{e}");
        // From the environment: the variable is named.
        let e = usage_error(&[], &[("KT_STOP_WHEN_IDLE", "5")]);
        assert!(e.contains("KT_STOP_WHEN_IDLE") && e.contains("no unit"), "{e}");
        let e = usage_error(&[], &[("KT_ON_DATA_LOSS", "skip")]);
        assert!(e.contains("KT_ON_DATA_LOSS"), "{e}");
        let e = usage_error(&[], &[("KT_PROGRESS", "maybe")]);
        assert!(e.contains("KT_PROGRESS"), "{e}");
        let e = usage_error(&[], &[("KT_METRICS_ADDR", "nowhere")]);
        assert!(e.contains("KT_METRICS_ADDR"), "{e}");
        let e = usage_error(&[], &[("KT_LOG_FORMAT", "xml")]);
        assert!(e.contains("KT_LOG_FORMAT"), "{e}");
    }

    #[test]
    fn help_is_exit_0_on_stdout_and_names_every_flag_and_variable() {
        for flag in ["-h", "--help"] {
            let e = parse_with(&[flag], &[]).expect_err("help");
            assert!(!e.use_stderr());
            assert_eq!(e.exit_code(), 0);
            let help = e.render().to_string();
            assert!(help.contains("Usage: pipe"), "{help}");
            for (flag, var) in ENV {
                assert!(help.contains(flag) && help.contains(var), "{flag} / {var} missing from the help:\n{help}");
            }
        }
    }
}
