//! The one optimistic-concurrency loop of the code base: decide on the state as read, write on
//! condition that it has not changed, and when a concurrent writer won (`StoreError::Conflict`)
//! read again and decide again. Conversation updates, session steps (end, close, R22) and
//! accepting an offer all run through it.

use std::future::Future;

use crate::error::StoreError;

/// What to do with the state as read.
#[derive(Debug)]
pub enum Decision<T, W> {
    /// Nothing to write (a repeat, or nothing to do): this is the result.
    Done(T),
    /// Write this, on condition that the state is still the one decided on.
    Write(W),
}

/// Runs `decide` → `write` until a write succeeds, `decide` is done or fails, or `max_attempts`
/// writes lost their race (then `Conflict`, which the edge answers as a retryable 503). A lost
/// race is a `Conflict` from `write`; `reread` then loads the state anew. Other errors end it.
pub async fn retry_on_conflict<S, W, T, E, WriteFut, ReadFut>(
    mut state: S,
    max_attempts: u32,
    mut decide: impl FnMut(&S) -> Result<Decision<T, W>, E>,
    mut write: impl FnMut(W) -> WriteFut,
    mut reread: impl FnMut() -> ReadFut,
) -> Result<T, E>
where
    E: From<StoreError>,
    WriteFut: Future<Output = Result<T, StoreError>>,
    ReadFut: Future<Output = Result<S, E>>,
{
    for _ in 0..max_attempts {
        let planned = match decide(&state)? {
            Decision::Done(result) => return Ok(result),
            Decision::Write(planned) => planned,
        };
        match write(planned).await {
            Ok(result) => return Ok(result),
            Err(StoreError::Conflict) => state = reread().await?,
            Err(other) => return Err(other.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A store of one counter whose conditional write loses `losses` races first.
    async fn run(losses: u32, max_attempts: u32) -> (Result<u64, StoreError>, u32, u32) {
        let stored = Cell::new(10u64);
        let writes = Cell::new(0u32);
        let reads = Cell::new(0u32);
        let result = retry_on_conflict(
            stored.get(),
            max_attempts,
            |value: &u64| Ok::<_, StoreError>(Decision::<u64, u64>::Write(value + 1)),
            |next| {
                writes.set(writes.get() + 1);
                let lost = writes.get() <= losses;
                if lost {
                    // Someone else wrote meanwhile.
                    stored.set(stored.get() + 100);
                } else {
                    stored.set(next);
                }
                async move {
                    if lost {
                        Err(StoreError::Conflict)
                    } else {
                        Ok(next)
                    }
                }
            },
            || {
                reads.set(reads.get() + 1);
                let value = stored.get();
                async move { Ok(value) }
            },
        )
        .await;
        (result, writes.get(), reads.get())
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    #[test]
    fn a_lost_race_is_decided_again_on_the_state_read_anew() {
        let (result, writes, reads) = block_on(run(2, 8));
        // 10, lost to 110, lost to 210, then 211 written on top of what the winners wrote.
        assert_eq!(result.ok(), Some(211));
        assert_eq!((writes, reads), (3, 2));
    }

    #[test]
    fn a_write_that_keeps_losing_gives_up_with_a_conflict_after_max_attempts() {
        let (result, writes, _) = block_on(run(u32::MAX, 5));
        assert!(matches!(result, Err(StoreError::Conflict)));
        assert_eq!(writes, 5);
    }

    #[test]
    fn nothing_to_do_writes_nothing() {
        let result: Result<&str, StoreError> = block_on(retry_on_conflict(
            1u8,
            3,
            |_| Ok(Decision::<&str, ()>::Done("as it was")),
            |()| async { Err(StoreError::Internal("must not write".into())) },
            || async { Err(StoreError::Internal("must not read".into())) },
        ));
        assert_eq!(result.ok(), Some("as it was"));
    }
}
