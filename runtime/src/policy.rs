//! What a pipeline does when it meets data it cannot deliver: a position
//! that fell out of the stream's retention, or a record the sink refuses.

use std::fmt;
use std::str::FromStr;

/// The operator's choice, `--on-data-loss fail|continue` on a pipeline binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDataLoss {
    /// Stop with an error that names the shard and the position (the default).
    #[default]
    Fail,
    /// Log an error, count it in the `data_loss` metric, and go on.
    Continue,
}

impl FromStr for OnDataLoss {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fail" => Ok(OnDataLoss::Fail),
            "continue" => Ok(OnDataLoss::Continue),
            other => Err(format!("`{other}` is neither `fail` nor `continue`")),
        }
    }
}

impl fmt::Display for OnDataLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OnDataLoss::Fail => "fail",
            OnDataLoss::Continue => "continue",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_choices_and_rejects_others() {
        assert_eq!("fail".parse::<OnDataLoss>(), Ok(OnDataLoss::Fail));
        assert_eq!("continue".parse::<OnDataLoss>(), Ok(OnDataLoss::Continue));
        assert!("skip".parse::<OnDataLoss>().unwrap_err().contains("skip"));
        assert_eq!(OnDataLoss::default(), OnDataLoss::Fail);
    }
}
