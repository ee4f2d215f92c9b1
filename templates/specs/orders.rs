//! Transforms of `orders.yaml`. `kinesis-tables build` compiles this file as
//! the `transforms` module beside the generated tables.

use super::{BigOrders, Orders};

/// Orders of 1,000.00 or more, with the total in cents.
pub fn big_orders(order: Orders) -> Option<BigOrders> {
    let cents = (order.amount * kinesis_tables::types::Decimal::from(100)).with_scale(0);
    let total_cents: i64 = cents.to_string().parse().ok()?;
    (total_cents >= 100_000).then_some(BigOrders { order_id: order.order_id, customer: order.customer, total_cents })
}
