//! Transforms named by specs/pipeline.yaml. rustc checks each signature
//! against the tables: a pipeline's transform takes the `from` record and
//! returns any `IntoIterator` of `to` records (`Option` drops or keeps one).

use super::{Events, EventsOut};

pub fn enrich(event: Events) -> Option<EventsOut> {
    // Drop events without a user; upper-case the action.
    Some(EventsOut { user_id: event.user_id?, action: event.action.to_uppercase(), at: event.at })
}
