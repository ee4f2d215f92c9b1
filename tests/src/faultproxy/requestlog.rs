//! The proxy's request log, and what it reads from DynamoDB and Kinesis
//! requests: the operation (`X-Amz-Target`), when it arrived, the lease key a
//! DynamoDB request names and the attributes it sets or removes (so a
//! checkpoint write, a take or a release can be told apart), the shard a
//! Kinesis request names, and optionally the data of PutRecords entries.

use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use serde_json::Value;

/// The most PutRecords entries kept in the log (records beyond are counted, not kept).
const MAX_LOGGED_RECORDS: usize = 2_000_000;

/// One request as the proxy saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    /// When the request's body had arrived.
    pub at: Instant,
    /// The `X-Amz-Target` operation (`UpdateItem`, `PutRecords`, …).
    pub operation: String,
    /// DynamoDB: the `leaseKey` of `Key` or `Item`.
    pub lease_key: Option<String>,
    /// DynamoDB: the attributes an `UpdateItem` sets (placeholders resolved), or a `PutItem`'s attributes.
    pub sets: Vec<String>,
    /// DynamoDB: the attributes an `UpdateItem` removes.
    pub removes: Vec<String>,
    /// DynamoDB: the `checkpoint` an `UpdateItem` sets (a string value such as a sequence number or `SHARD_END`).
    pub checkpoint: Option<String>,
    /// Kinesis: the `ShardId` a request names (GetShardIterator, SubscribeToShard, …).
    pub shard_id: Option<String>,
    /// PutRecords: the number of entries.
    pub entries: usize,
    /// PutRecords, with [`super::FaultProxy::log_records`]: each entry's data.
    pub records: Vec<Bytes>,
    /// The status answered; `None` while pending, or when the connection was cut.
    pub status: Option<u16>,
}

impl LoggedRequest {
    /// A checkpoint write: an `UpdateItem` that sets `checkpoint`.
    pub fn is_checkpoint(&self) -> bool {
        self.operation == "UpdateItem" && self.sets.iter().any(|s| s == "checkpoint")
    }

    /// A take (or a lease's creation): a write that sets `leaseOwner`.
    pub fn is_take(&self) -> bool {
        matches!(self.operation.as_str(), "UpdateItem" | "PutItem") && self.sets.iter().any(|s| s == "leaseOwner")
    }

    /// A DynamoDB request the proxy answered with success.
    pub fn succeeded(&self) -> bool {
        self.status == Some(200)
    }
}

/// The log: entries in arrival order, and how many PutRecords entries were not kept.
#[derive(Debug, Default)]
pub(super) struct RequestLog {
    pub(super) entries: Vec<LoggedRequest>,
    pub(super) keep_records: bool,
    kept_records: usize,
    pub(super) dropped_records: u64,
}

impl RequestLog {
    /// Logs a request; returns its index, to set its status later.
    pub(super) fn push(&mut self, operation: &str, body: &[u8]) -> usize {
        let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let mut entry = LoggedRequest {
            at: Instant::now(),
            operation: operation.to_owned(),
            lease_key: lease_key(&parsed),
            sets: Vec::new(),
            removes: Vec::new(),
            checkpoint: None,
            shard_id: parsed.get("ShardId").and_then(Value::as_str).map(str::to_owned),
            entries: 0,
            records: Vec::new(),
            status: None,
        };
        match operation {
            "UpdateItem" => {
                let (sets, removes, assigned) = update_attributes(&parsed);
                entry.checkpoint = assigned_string(&parsed, &assigned, "checkpoint");
                (entry.sets, entry.removes) = (sets, removes);
            }
            "PutItem" => {
                entry.sets = parsed.get("Item").and_then(Value::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default()
            }
            "PutRecords" => {
                let records = parsed.get("Records").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                entry.entries = records.len();
                if self.keep_records {
                    self.keep(&mut entry, records);
                }
            }
            _ => {}
        }
        self.entries.push(entry);
        self.entries.len() - 1
    }

    fn keep(&mut self, entry: &mut LoggedRequest, records: &[Value]) {
        for r in records {
            if self.kept_records >= MAX_LOGGED_RECORDS {
                self.dropped_records += 1;
                continue;
            }
            let data = r.get("Data").and_then(Value::as_str).unwrap_or_default();
            match base64::engine::general_purpose::STANDARD.decode(data) {
                Ok(bytes) => {
                    self.kept_records += 1;
                    entry.records.push(Bytes::from(bytes));
                }
                Err(_) => self.dropped_records += 1,
            }
        }
    }

    pub(super) fn answered(&mut self, index: Option<usize>, status: Option<u16>) {
        if let Some(e) = index.and_then(|i| self.entries.get_mut(i)) {
            e.status = status;
        }
    }
}

/// `Key.leaseKey.S` or `Item.leaseKey.S`.
fn lease_key(request: &Value) -> Option<String> {
    ["Key", "Item"].iter().find_map(|k| request.get(k)?.get("leaseKey")?.get("S")?.as_str().map(str::to_owned))
}

/// The string an update assigns to `attribute` (`SET attr = :v`, `:v` a string in `ExpressionAttributeValues`).
fn assigned_string(request: &Value, assigned: &[(String, String)], attribute: &str) -> Option<String> {
    let (_, value) = assigned.iter().find(|(a, _)| a == attribute)?;
    request.get("ExpressionAttributeValues")?.get(value)?.get("S")?.as_str().map(str::to_owned)
}

/// The attributes an `UpdateExpression` sets and removes, placeholders
/// (`#name`) resolved through `ExpressionAttributeNames`, and each plain
/// assignment's value token (`attr`, `:v`).
fn update_attributes(request: &Value) -> (Vec<String>, Vec<String>, Vec<(String, String)>) {
    let expression = request.get("UpdateExpression").and_then(Value::as_str).unwrap_or_default();
    let names = request.get("ExpressionAttributeNames").and_then(Value::as_object);
    let resolve = |path: &str| -> String {
        // The top-level attribute of a path (`#a.b[0]` → `#a`).
        let top = path.split(['.', '[']).next().unwrap_or(path);
        match names.and_then(|n| n.get(top)).and_then(Value::as_str) {
            Some(name) => name.to_owned(),
            None => top.to_owned(),
        }
    };
    let (mut sets, mut removes, mut assigned) = (Vec::new(), Vec::new(), Vec::new());
    for (clause, body) in clauses(expression) {
        match clause.as_str() {
            "SET" => {
                // Each assignment is `path = value`; the path is the word before each `=`.
                let mut rest = body;
                while let Some(eq) = rest.find('=') {
                    let before = rest[..eq].trim_end();
                    let path = before.rsplit(|c: char| c.is_whitespace() || c == ',' || c == '(').next().unwrap_or_default();
                    rest = &rest[eq + 1..];
                    if !path.is_empty() {
                        let value = rest.split(|c: char| c.is_whitespace() || c == ',').find(|w| !w.is_empty()).unwrap_or_default();
                        sets.push(resolve(path));
                        assigned.push((resolve(path), value.to_owned()));
                    }
                }
            }
            "REMOVE" => removes.extend(body.split(',').map(str::trim).filter(|p| !p.is_empty()).map(resolve)),
            "ADD" => sets.extend(body.split(',').filter_map(|a| a.split_whitespace().next()).map(resolve)),
            _ => {}
        }
    }
    (sets, removes, assigned)
}

/// An update expression's clauses: (`SET`|`REMOVE`|`ADD`|`DELETE`, its text).
fn clauses(expression: &str) -> Vec<(String, &str)> {
    const KEYWORDS: [&str; 4] = ["SET", "REMOVE", "ADD", "DELETE"];
    let mut starts = Vec::new();
    let mut offset = 0;
    for word in expression.split_inclusive(char::is_whitespace) {
        let w = word.trim();
        if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(w)) {
            starts.push((w.to_ascii_uppercase(), offset, offset + word.len()));
        }
        offset += word.len();
    }
    let mut out = Vec::new();
    for (i, (kw, _, body_start)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(expression.len(), |s| s.1);
        out.push((kw.clone(), &expression[*body_start..end]));
    }
    out
}

/// A window in which every request is cut before it is forwarded (DynamoDB
/// or Kinesis unreachable).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Unreachable {
    pub(super) until: Option<Instant>,
}

impl Unreachable {
    pub(super) fn set(&mut self, window: Duration) {
        self.until = Some(Instant::now() + window);
    }

    pub(super) fn active(&self) -> bool {
        self.until.is_some_and(|t| Instant::now() < t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn logged(operation: &str, body: Value) -> LoggedRequest {
        let mut log = RequestLog { keep_records: true, ..RequestLog::default() };
        let i = log.push(operation, &serde_json::to_vec(&body).unwrap());
        log.entries.swap_remove(i)
    }

    #[test]
    fn reads_what_a_lease_write_does() {
        let checkpoint = logged(
            "UpdateItem",
            json!({
                "TableName": "app",
                "Key": {"leaseKey": {"S": "shardId-000000000003"}},
                "UpdateExpression": "SET #cp = :cp, checkpointSubSequenceNumber = :sub, #c = #c + :one REMOVE pendingCheckpoint",
                "ConditionExpression": "#c = :expected",
                "ExpressionAttributeNames": {"#cp": "checkpoint", "#c": "leaseCounter"},
                "ExpressionAttributeValues": {":cp": {"S": "49590338271490256608559692538361571095921575989136588898"}, ":sub": {"N": "0"}}
            }),
        );
        assert_eq!(checkpoint.lease_key.as_deref(), Some("shardId-000000000003"));
        assert_eq!(checkpoint.sets, ["checkpoint", "checkpointSubSequenceNumber", "leaseCounter"]);
        assert_eq!(checkpoint.removes, ["pendingCheckpoint"]);
        assert!(checkpoint.is_checkpoint() && !checkpoint.is_take());
        assert_eq!(checkpoint.checkpoint.as_deref(), Some("49590338271490256608559692538361571095921575989136588898"));

        let renew = logged(
            "UpdateItem",
            json!({"Key": {"leaseKey": {"S": "s1"}}, "UpdateExpression": "set leaseCounter = :n", "ExpressionAttributeNames": {}}),
        );
        assert!(!renew.is_checkpoint() && !renew.is_take(), "{renew:?}");
        let take = logged(
            "UpdateItem",
            json!({"Key": {"leaseKey": {"S": "s1"}}, "UpdateExpression": "SET #o = :me, leaseCounter = :n ADD ownerSwitchesSinceCheckpoint :one", "ExpressionAttributeNames": {"#o": "leaseOwner"}}),
        );
        assert!(take.is_take(), "{take:?}");
        assert_eq!(take.sets, ["leaseOwner", "leaseCounter", "ownerSwitchesSinceCheckpoint"]);
        let release = logged(
            "UpdateItem",
            json!({"Key": {"leaseKey": {"S": "s1"}}, "UpdateExpression": "REMOVE #o SET leaseCounter = :n", "ExpressionAttributeNames": {"#o": "leaseOwner"}}),
        );
        assert_eq!(
            (release.removes.as_slice(), release.sets.as_slice()),
            (&["leaseOwner".to_string()][..], &["leaseCounter".to_string()][..])
        );
    }

    #[test]
    fn reads_kinesis_requests_and_tolerates_garbage() {
        let put = logged("PutRecords", json!({"Records": [{"Data": "aGk=", "PartitionKey": "k"}, {"Data": "!!", "PartitionKey": "k"}]}));
        assert_eq!(put.entries, 2);
        assert_eq!(put.records, [Bytes::from_static(b"hi")]);
        let it = logged("GetShardIterator", json!({"ShardId": "shardId-000000000001"}));
        assert_eq!(it.shard_id.as_deref(), Some("shardId-000000000001"));
        let mut log = RequestLog::default();
        let i = log.push("UpdateItem", b"\xff not json");
        assert_eq!(log.entries[i].lease_key, None);
        assert!(log.entries[i].sets.is_empty());
    }
}
