//! The requests a connection is serving, by JSON-RPC id, bounded.

use crate::scope::ActiveScope;
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
    table: Mutex<Table>,
    /// Keys string ids: a client cannot choose two ids that collide.
    keys: RandomState,
}

#[derive(Debug, Default)]
struct Table {
    requests: HashMap<RequestKey, Arc<ActiveScope>>,
    /// The request each progress token was given with (`_meta.progressToken`): what a
    /// progress notification the server sends is about.
    tokens: HashMap<RequestKey, RequestKey>,
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

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notes that `key` is being served in `scope`, with the progress token it was
    /// given, if any, until [`Self::leave`]. `false` when the table is full; an id
    /// already in flight (a client reusing one) is replaced.
    pub(crate) fn enter(
        &self,
        key: RequestKey,
        progress: Option<RequestKey>,
        scope: &Arc<ActiveScope>,
    ) -> bool {
        let mut table = self.lock();
        if table.requests.len() >= MAX_IN_FLIGHT && !table.requests.contains_key(&key) {
            return false;
        }
        table.requests.insert(key, scope.clone());
        if let Some(token) = progress
            && (table.tokens.len() < MAX_IN_FLIGHT || table.tokens.contains_key(&token))
        {
            table.tokens.insert(token, key);
        }
        true
    }

    /// The request `key`, served in `scope`, was answered or given up.
    pub(crate) fn leave(
        &self,
        key: RequestKey,
        progress: Option<RequestKey>,
        scope: &Arc<ActiveScope>,
    ) {
        let mut table = self.lock();
        // Only this request's own entries: a later request that reused the id keeps its
        // entry, and the token it was given.
        if !table
            .requests
            .get(&key)
            .is_some_and(|entered| Arc::ptr_eq(entered, scope))
        {
            return;
        }
        table.requests.remove(&key);
        if let Some(token) = progress
            && table.tokens.get(&token) == Some(&key)
        {
            table.tokens.remove(&token);
        }
    }

    /// The scope of the request `key`, if it is in flight.
    pub(crate) fn scope_of(&self, key: RequestKey) -> Option<Arc<ActiveScope>> {
        self.lock().requests.get(&key).cloned()
    }

    /// The scope of the request in flight that was given progress token `token`.
    pub(crate) fn scope_of_token(&self, token: RequestKey) -> Option<Arc<ActiveScope>> {
        let table = self.lock();
        let key = table.tokens.get(&token)?;
        table.requests.get(key).cloned()
    }

    /// The scope of the one request in flight, when exactly one is: what a message
    /// that names no request (a log message) is taken to be about.
    pub(crate) fn sole(&self) -> Option<Arc<ActiveScope>> {
        let table = self.lock();
        match table.requests.len() {
            1 => table.requests.values().next().cloned(),
            _ => None,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().requests.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Arc<ActiveScope> {
        crate::scope::scope().activate()
    }

    #[test]
    fn an_entry_lives_until_it_leaves() {
        let table = InFlight::default();
        let (key, scope) = (table.number(7), scope());
        assert!(table.enter(key, None, &scope));
        assert_eq!(table.len(), 1);
        assert!(
            table.scope_of(key).unwrap().span_context().is_none(),
            "no span has started"
        );
        table.leave(key, None, &scope);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn a_reused_id_keeps_the_newer_entry() {
        let table = InFlight::default();
        let key = table.string("req");
        let (first, second) = (scope(), scope());
        assert!(table.enter(key, None, &first));
        assert!(table.enter(key, None, &second));
        table.leave(key, None, &first);
        assert_eq!(table.len(), 1, "the second request is still in flight");
        table.leave(key, None, &second);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn the_table_is_bounded() {
        let table = InFlight::default();
        let scopes: Vec<_> = (0..MAX_IN_FLIGHT as i64)
            .map(|id| {
                let scope = scope();
                assert!(table.enter(table.number(id), None, &scope));
                (id, scope)
            })
            .collect();
        assert!(!table.enter(table.number(-1), None, &scope()));
        assert_eq!(table.len(), MAX_IN_FLIGHT);
        for (id, scope) in scopes {
            table.leave(table.number(id), None, &scope);
        }
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn progress_tokens_lead_to_their_request_while_it_is_in_flight() {
        let table = InFlight::default();
        let (key, token, scope) = (table.number(1), table.string("tok"), scope());
        assert!(table.enter(key, Some(token), &scope));
        assert!(Arc::ptr_eq(&table.scope_of_token(token).unwrap(), &scope));
        assert!(Arc::ptr_eq(&table.sole().unwrap(), &scope));
        table.leave(key, Some(token), &scope);
        assert!(table.scope_of_token(token).is_none());
        assert!(table.lock().tokens.is_empty());
    }

    #[test]
    fn a_reused_id_keeps_the_token_of_the_request_still_in_flight() {
        let table = InFlight::default();
        let (key, token) = (table.number(1), table.string("t"));
        let (first, second) = (scope(), scope());
        assert!(table.enter(key, Some(token), &first));
        assert!(table.enter(key, Some(token), &second));
        table.leave(key, Some(token), &first);
        assert!(Arc::ptr_eq(&table.scope_of_token(token).unwrap(), &second));
        table.leave(key, Some(token), &second);
        assert!(table.scope_of_token(token).is_none());
    }

    #[test]
    fn string_ids_are_keyed_by_digest() {
        let table = InFlight::default();
        assert_eq!(table.string("a"), table.string("a"));
        assert_ne!(table.string("a"), table.string("b"));
        assert_ne!(table.string("1"), table.number(1));
    }
}
