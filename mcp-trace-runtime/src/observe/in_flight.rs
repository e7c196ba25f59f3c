//! The requests a connection is serving, by JSON-RPC id, bounded.

use crate::scope::ActiveScope;
use opentelemetry::trace::SpanContext;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard};

/// Most requests tracked at once per connection. Past it a request is served and traced
/// as ever, but a later message about it (a cancellation) finds no span to link to.
pub(crate) const MAX_IN_FLIGHT: usize = 4096;

/// A JSON-RPC request id as a fixed-size key: a number as itself, a string as a keyed
/// 64-bit digest, so an entry costs the same whatever id the client chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RequestKey {
    Number(i64),
    String(u64),
}

/// Requests in flight: what later messages about a request need of it.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    requests: Mutex<HashMap<RequestKey, Arc<ActiveScope>>>,
    /// Keys string ids: a client cannot choose two ids that collide.
    keys: RandomState,
}

impl InFlight {
    /// The key of a numeric id.
    pub(crate) fn number(&self, id: i64) -> RequestKey {
        RequestKey::Number(id)
    }

    /// The key of a string id.
    pub(crate) fn string(&self, id: &str) -> RequestKey {
        RequestKey::String(self.keys.hash_one(id))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<RequestKey, Arc<ActiveScope>>> {
        self.requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notes that `key` is being served in `scope` until the guard drops. `None` when
    /// the table is full; an id already in flight (a client reusing one) is replaced.
    pub(crate) fn enter(&self, key: RequestKey, scope: &Arc<ActiveScope>) -> Option<Entered<'_>> {
        let mut requests = self.lock();
        if requests.len() >= MAX_IN_FLIGHT && !requests.contains_key(&key) {
            return None;
        }
        requests.insert(key, scope.clone());
        Some(Entered {
            table: self,
            key,
            scope: scope.clone(),
        })
    }

    /// The span of the request `key`, if it is in flight and its span has started.
    pub(crate) fn span_of(&self, key: RequestKey) -> Option<SpanContext> {
        let scope = self.lock().get(&key)?.clone();
        scope.span_context()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// A request in flight; dropped when it is answered or given up.
#[derive(Debug)]
pub(crate) struct Entered<'a> {
    table: &'a InFlight,
    key: RequestKey,
    scope: Arc<ActiveScope>,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let mut requests = self.table.lock();
        // Only this request's own entry: a later request that reused the id keeps its.
        if requests
            .get(&self.key)
            .is_some_and(|scope| Arc::ptr_eq(scope, &self.scope))
        {
            requests.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Arc<ActiveScope> {
        crate::scope::scope().activate()
    }

    #[test]
    fn an_entry_lives_as_long_as_its_guard() {
        let table = InFlight::default();
        let key = table.number(7);
        let guard = table.enter(key, &scope()).unwrap();
        assert_eq!(table.len(), 1);
        assert!(table.span_of(key).is_none(), "no span has started");
        drop(guard);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn a_reused_id_keeps_the_newer_entry() {
        let table = InFlight::default();
        let key = table.string("req");
        let first = table.enter(key, &scope()).unwrap();
        let second = table.enter(key, &scope()).unwrap();
        drop(first);
        assert_eq!(table.len(), 1, "the second request is still in flight");
        drop(second);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn the_table_is_bounded() {
        let table = InFlight::default();
        let guards: Vec<_> = (0..MAX_IN_FLIGHT as i64)
            .map(|id| table.enter(table.number(id), &scope()).unwrap())
            .collect();
        assert!(table.enter(table.number(-1), &scope()).is_none());
        assert_eq!(table.len(), MAX_IN_FLIGHT);
        drop(guards);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn string_ids_are_keyed_by_digest() {
        let table = InFlight::default();
        assert_eq!(table.string("a"), table.string("a"));
        assert_ne!(table.string("a"), table.string("b"));
        assert_ne!(table.string("1"), table.number(1));
    }
}
