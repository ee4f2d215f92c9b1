//! The lease table in DynamoDB: the only code that calls DynamoDB.
//!
//! Every write is conditional (`ConditionExpression`, `UpdateExpression`;
//! no transactions, no legacy `Expected`), as the KCL's
//! `DynamoDBLeaseRefresher` does it: on `leaseCounter`, and on `leaseOwner`
//! where the KCL checks it. A write that fails its condition is
//! [`Outcome::Lost`]. A retried write whose first attempt may have been
//! applied is confirmed by a consistent read (the KCL does the same for
//! renewals). Errors go through the project's retry driver; every request,
//! throttle and error is counted.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
};
use aws_smithy_runtime_api::http::Response as HttpResponse;

use super::error::{LeaseError, LeaseErrorKind};
use super::row::*;
use crate::config::Backoff;
use crate::retry::{self, Attempt, Class, Policy};

/// Retries of one lease-table request: a few, quickly — the lease
/// protocol's own timing retries the rest.
pub const LEASE_BACKOFF: Backoff = Backoff::new(3, 50, 1_000, 2.0);
/// Retries at startup (describe, create, scan).
const SETUP_BACKOFF: Backoff = Backoff::new(8, 100, 5_000, 2.0);
/// How long [`LeaseTable::ensure`] waits for a table to become ACTIVE.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Whether a conditional write was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// The condition failed: the lease moved on (another owner, another counter).
    Lost,
}

/// The lease table of one application, written as worker `worker`.
#[derive(Debug, Clone)]
pub struct LeaseTable {
    client: Client,
    name: String,
    worker: String,
}

impl LeaseTable {
    pub fn new(client: Client, name: impl Into<String>, worker: impl Into<String>) -> Self {
        LeaseTable { client, name: name.into(), worker: worker.into() }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// Runs one request with retries; counts requests, throttles and errors.
    async fn call<T, E, F, Fut>(&self, op: &'static str, backoff: &Backoff, mut f: F) -> Result<Result<T, ()>, LeaseError>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        F: FnMut(u32) -> Fut,
        Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        let worker = self.worker.clone();
        let policy = Policy::new(backoff);
        let result = retry::run(&policy, |attempt| {
            metrics::counter!("kinesis_tables_dynamodb_requests_total", "op" => op, "worker" => worker.clone()).increment(1);
            let fut = f(attempt);
            let worker = worker.clone();
            async move {
                match fut.await {
                    Ok(v) => Attempt::Done(Ok(v)),
                    Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException") => {
                        Attempt::Done(Err(()))
                    }
                    Err(e) => {
                        let class = retry::classify(&e);
                        if class == Class::Throttled {
                            metrics::counter!("kinesis_tables_dynamodb_throttles_total", "worker" => worker).increment(1);
                        }
                        Attempt::Failed(class, e)
                    }
                }
            }
        })
        .await;
        result.map_err(|gave_up| {
            let e = gave_up.error;
            let kind = e.as_service_error().and_then(|s| s.code()).unwrap_or("request").to_owned();
            metrics::counter!("kinesis_tables_dynamodb_errors_total", "kind" => kind, "worker" => self.worker.clone()).increment(1);
            let text = retry::describe(&e);
            LeaseError::new(LeaseErrorKind::DynamoDb, format!("DynamoDB {op} on lease table `{}` failed: {text}", self.name))
        })
    }

    /// Checks that the table exists (creating it, PAY_PER_REQUEST with key
    /// `leaseKey`, when `create` allows) and waits until it is ACTIVE.
    pub async fn ensure(&self, create: bool) -> Result<(), LeaseError> {
        let deadline = tokio::time::Instant::now() + ACTIVE_TIMEOUT;
        let mut created = false;
        loop {
            let described =
                self.call("DescribeTable", &SETUP_BACKOFF, |_| self.client.describe_table().table_name(&self.name).send()).await;
            match described {
                Ok(Ok(out)) => {
                    let status = out.table().and_then(|t| t.table_status()).cloned();
                    if status == Some(TableStatus::Active) {
                        return Ok(());
                    }
                }
                Ok(Err(())) => {}
                Err(e) if e.message().contains("ResourceNotFoundException") => {
                    if !create {
                        return Err(LeaseError::new(
                            LeaseErrorKind::Table,
                            format!("lease table `{}` does not exist, and `create-table` is false", self.name),
                        ));
                    }
                    if !created {
                        self.create_table().await?;
                        created = true;
                    }
                }
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(LeaseError::new(LeaseErrorKind::Table, format!("lease table `{}` did not become ACTIVE", self.name)));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn create_table(&self) -> Result<(), LeaseError> {
        let attr = AttributeDefinition::builder()
            .attribute_name(LEASE_KEY)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| LeaseError::new(LeaseErrorKind::Table, e.to_string()))?;
        let key = KeySchemaElement::builder()
            .attribute_name(LEASE_KEY)
            .key_type(KeyType::Hash)
            .build()
            .map_err(|e| LeaseError::new(LeaseErrorKind::Table, e.to_string()))?;
        let r = self
            .call("CreateTable", &SETUP_BACKOFF, |_| {
                self.client
                    .create_table()
                    .table_name(&self.name)
                    .attribute_definitions(attr.clone())
                    .key_schema(key.clone())
                    .billing_mode(BillingMode::PayPerRequest)
                    .send()
            })
            .await;
        match r {
            Ok(_) => Ok(()),
            // Another worker created it first.
            Err(e) if e.message().contains("ResourceInUseException") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every lease of the table (a consistent, paginated scan). Rows of
    /// another entity type are left out; an unreadable row is an error.
    pub async fn scan(&self) -> Result<Vec<Lease>, LeaseError> {
        let mut leases = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .call("Scan", &LEASE_BACKOFF, |_| {
                    self.client.scan().table_name(&self.name).consistent_read(true).set_exclusive_start_key(start.clone()).send()
                })
                .await?
                .map_err(|()| LeaseError::new(LeaseErrorKind::DynamoDb, "Scan reported a failed condition"))?;
            for item in out.items() {
                if let Some(l) = Lease::from_item(item)? {
                    leases.push(l);
                }
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(leases),
            }
        }
    }

    /// One lease (a consistent read), `None` when the row is gone.
    pub async fn get(&self, key: &str) -> Result<Option<Lease>, LeaseError> {
        let out = self
            .call("GetItem", &LEASE_BACKOFF, |_| {
                self.client.get_item().table_name(&self.name).key(LEASE_KEY, AttributeValue::S(key.to_owned())).consistent_read(true).send()
            })
            .await?
            .map_err(|()| LeaseError::new(LeaseErrorKind::DynamoDb, "GetItem reported a failed condition"))?;
        match out.item() {
            Some(item) => Lease::from_item(item),
            None => Ok(None),
        }
    }

    /// Creates a lease if its row does not exist (`attribute_not_exists(leaseKey)`).
    pub async fn create(&self, lease: &Lease) -> Result<Outcome, LeaseError> {
        let item = lease.to_item();
        let r = self
            .call("PutItem", &LEASE_BACKOFF, |_| {
                self.client
                    .put_item()
                    .table_name(&self.name)
                    .set_item(Some(item.clone()))
                    .condition_expression("attribute_not_exists(#k)")
                    .expression_attribute_names("#k", LEASE_KEY)
                    .send()
            })
            .await?;
        Ok(if r.is_ok() { Outcome::Applied } else { Outcome::Lost })
    }

    /// An UpdateItem of lease `key`, retried; a condition failure after a
    /// retry is confirmed by reading the row: `confirm` says whether the
    /// row shows this very write applied.
    async fn update(&self, op: &'static str, key: &str, u: Update, confirm: impl Fn(&Lease) -> bool) -> Result<Outcome, LeaseError> {
        let mut retried = false;
        let r = self
            .call(op, &LEASE_BACKOFF, |attempt| {
                retried |= attempt > 0;
                self.client
                    .update_item()
                    .table_name(&self.name)
                    .key(LEASE_KEY, AttributeValue::S(key.to_owned()))
                    .update_expression(u.expression())
                    .condition_expression(u.condition.clone())
                    .set_expression_attribute_names(Some(u.names.clone()))
                    .set_expression_attribute_values(if u.values.is_empty() { None } else { Some(u.values.clone()) })
                    .send()
            })
            .await?;
        match r {
            Ok(_) => Ok(Outcome::Applied),
            Err(()) if retried => Ok(match self.get(key).await? {
                Some(l) if confirm(&l) => Outcome::Applied,
                _ => Outcome::Lost,
            }),
            Err(()) => Ok(Outcome::Lost),
        }
    }

    /// Renews a lease this worker holds at `counter`: counter + 1, if the
    /// counter and the owner are unchanged.
    pub async fn renew(&self, key: &str, counter: u64) -> Result<Outcome, LeaseError> {
        let mut u = Update::owned_at(counter, &self.worker);
        u.set(LEASE_COUNTER, num(counter + 1));
        let me = self.worker.clone();
        self.update("UpdateItem(renew)", key, u, |l| l.owner.as_deref() == Some(me.as_str()) && l.counter == counter + 1).await
    }

    /// Takes a lease observed at `counter` (owned by `owner`, or nobody):
    /// owner = this worker, counter + 1, and one more owner switch when the
    /// owner changes — if the counter is unchanged.
    pub async fn take(&self, key: &str, counter: u64, owner: Option<&str>) -> Result<Outcome, LeaseError> {
        let mut u = Update::at(counter);
        u.set(LEASE_COUNTER, num(counter + 1));
        u.set(LEASE_OWNER, AttributeValue::S(self.worker.clone()));
        if owner != Some(self.worker.as_str()) {
            u.add(OWNER_SWITCHES, num(1));
        }
        let me = self.worker.clone();
        self.update("UpdateItem(take)", key, u, |l| l.owner.as_deref() == Some(me.as_str()) && l.counter == counter + 1).await
    }

    /// Releases a lease this worker holds (the KCL's evictLease): no owner,
    /// counter + 1, if this worker still owns it.
    pub async fn release(&self, key: &str) -> Result<Outcome, LeaseError> {
        let mut u = Update { condition: "#o = :me".into(), ..Update::default() };
        u.names.insert("#o".into(), LEASE_OWNER.into());
        u.values.insert(":me".into(), AttributeValue::S(self.worker.clone()));
        u.remove(LEASE_OWNER);
        u.add(LEASE_COUNTER, num(1));
        self.update("UpdateItem(release)", key, u, |l| l.owner.is_none()).await
    }

    /// Writes a checkpoint into a lease this worker holds at `counter`:
    /// checkpoint, sub-sequence number, no owner switches since, no pending
    /// checkpoint, counter + 1 (and `children` at SHARD_END) — if the
    /// counter and the owner are unchanged.
    pub async fn checkpoint(
        &self,
        key: &str,
        counter: u64,
        v: &CheckpointValue,
        ext: &Ext,
        children: &[String],
    ) -> Result<Outcome, LeaseError> {
        let mut u = Update::owned_at(counter, &self.worker);
        u.set(LEASE_COUNTER, num(counter + 1));
        u.set(CHECKPOINT, AttributeValue::S(v.checkpoint.clone()));
        u.set(CHECKPOINT_SUB, num(v.sub_sequence));
        u.set(OWNER_SWITCHES, num(0));
        for name in [PENDING_CHECKPOINT, PENDING_CHECKPOINT_SUB, PENDING_CHECKPOINT_STATE] {
            u.remove(name);
        }
        match v.whole_record {
            true => u.set(EXT_WHOLE_RECORD, AttributeValue::S(v.checkpoint.clone())),
            false => u.remove(EXT_WHOLE_RECORD),
        }
        if let Some(a) = v.arrival_millis {
            u.set(EXT_ARRIVAL, num(a));
        }
        u.set_ext(ext);
        if !children.is_empty() {
            u.set(CHILD_SHARD_IDS, AttributeValue::Ss(children.to_vec()));
        }
        let me = self.worker.clone();
        let cp = v.checkpoint.clone();
        let confirm =
            |l: &Lease| l.owner.as_deref() == Some(me.as_str()) && l.counter == counter + 1 && l.checkpoint.as_deref() == Some(&cp);
        self.update("UpdateItem(checkpoint)", key, u, confirm).await
    }

    /// Deletes a finished lease this worker holds at `counter`.
    pub async fn delete(&self, key: &str, counter: u64) -> Result<Outcome, LeaseError> {
        let u = Update::owned_at(counter, &self.worker);
        let r = self
            .call("DeleteItem", &LEASE_BACKOFF, |_| {
                self.client
                    .delete_item()
                    .table_name(&self.name)
                    .key(LEASE_KEY, AttributeValue::S(key.to_owned()))
                    .condition_expression(u.condition.clone())
                    .set_expression_attribute_names(Some(u.names.clone()))
                    .set_expression_attribute_values(Some(u.values.clone()))
                    .send()
            })
            .await?;
        Ok(if r.is_ok() { Outcome::Applied } else { Outcome::Lost })
    }
}

/// An update expression under construction: `SET`, `REMOVE` and `ADD`
/// clauses with placeholder names and values, and a condition.
#[derive(Debug, Clone, Default)]
struct Update {
    condition: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    set: Vec<String>,
    remove: Vec<String>,
    add: Vec<String>,
}

impl Update {
    /// Conditional on `leaseCounter = counter`.
    fn at(counter: u64) -> Self {
        let mut u = Update { condition: "#c = :c".into(), ..Update::default() };
        u.names.insert("#c".into(), LEASE_COUNTER.into());
        u.values.insert(":c".into(), num(counter));
        u
    }
    /// Conditional on `leaseCounter = counter AND leaseOwner = worker`.
    fn owned_at(counter: u64, worker: &str) -> Self {
        let mut u = Self::at(counter);
        u.condition.push_str(" AND #o = :me");
        u.names.insert("#o".into(), LEASE_OWNER.into());
        u.values.insert(":me".into(), AttributeValue::S(worker.to_owned()));
        u
    }
    fn placeholder(&mut self, attr: &str) -> String {
        let n = format!("#a{}", self.names.len());
        self.names.insert(n.clone(), attr.to_owned());
        n
    }
    fn set(&mut self, attr: &str, v: AttributeValue) {
        let n = self.placeholder(attr);
        let val = format!(":v{}", self.values.len());
        self.values.insert(val.clone(), v);
        self.set.push(format!("{n} = {val}"));
    }
    fn remove(&mut self, attr: &str) {
        let n = self.placeholder(attr);
        self.remove.push(n);
    }
    fn add(&mut self, attr: &str, v: AttributeValue) {
        let n = self.placeholder(attr);
        let val = format!(":v{}", self.values.len());
        self.values.insert(val.clone(), v);
        self.add.push(format!("{n} {val}"));
    }
    fn set_ext(&mut self, ext: &Ext) {
        if let Some(s) = &ext.stream {
            self.set(EXT_STREAM, AttributeValue::S(s.clone()));
        }
        for (name, v) in [(EXT_STREAM_CREATED, ext.stream_created_millis), (EXT_PINNED_START, ext.pinned_start_millis)] {
            if let Some(v) = v {
                self.set(name, num(v));
            }
        }
    }
    fn expression(&self) -> String {
        let mut e = String::new();
        for (word, parts) in [("SET", &self.set), ("REMOVE", &self.remove), ("ADD", &self.add)] {
            if !parts.is_empty() {
                if !e.is_empty() {
                    e.push(' ');
                }
                e.push_str(word);
                e.push(' ');
                e.push_str(&parts.join(", "));
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_expressions_name_every_attribute_through_placeholders() {
        let mut u = Update::owned_at(4, "w");
        u.set(LEASE_COUNTER, num(5));
        u.remove(PENDING_CHECKPOINT);
        u.add(OWNER_SWITCHES, num(1));
        assert_eq!(u.expression(), "SET #a2 = :v2 REMOVE #a3 ADD #a4 :v3");
        assert_eq!(u.condition, "#c = :c AND #o = :me");
        assert_eq!(u.names.get("#a3").map(String::as_str), Some(PENDING_CHECKPOINT));
    }
}
