//! The bucket lock: one writer (backup or restore) at a time across every instance that
//! shares the bucket.
//!
//! The lock is the object `<prefix>/locks/bucket.json`, created with a conditional put
//! (`PutMode::Create`) so that exactly one creator wins. It is a *lease*: it names its
//! holder and an expiry, the holder renews it (a heartbeat, a conditional update on the
//! object's ETag/version), and a lock past its expiry may be taken over, so a holder that
//! died releases it by itself. Stores without conditional updates (the local folder) are
//! renewed by read-check-overwrite and taken over by delete-then-create; `Create` stays
//! atomic, so two takers still cannot both succeed unless they interleave in the window
//! between one's delete and the other's read, which on one host is negligible.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{
    ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload, UpdateVersion,
};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::Target;
use crate::operations::clock;

/// The lock's key below the prefix.
pub const LOCK_KEY: &str = "locks/bucket.json";

/// Why the lock could not be taken, renewed or released.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds it.
    #[error(
        "the bucket is locked by operation {} of instance {} (namespace {}) on {} until {}",
        .0.holder.operation_id, .0.holder.instance_id, .0.holder.namespace, .0.holder.host, .0.expires_at
    )]
    Held(Box<LockRecord>),
    /// The store failed.
    #[error("cannot use the bucket lock: {0}")]
    Store(#[from] object_store::Error),
    /// The lock object is not ours to read.
    #[error("the bucket lock object is unreadable: {0}")]
    Corrupt(#[from] serde_json::Error),
    /// We no longer hold it (it expired and was taken over).
    #[error("the bucket lock was lost (it expired and another holder took it)")]
    Lost,
}

/// Who holds the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The holding instance's id.
    pub instance_id: String,
    /// Its namespace.
    pub namespace: String,
    /// The host Lifeboat runs on.
    pub host: String,
    /// Lifeboat's process id there.
    pub pid: u32,
    /// The operation that holds it.
    pub operation_id: String,
}

/// The lock object's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    /// Who.
    pub holder: Holder,
    /// Random per acquisition: tells this holder's lease from a later one of the same holder.
    pub token: String,
    /// RFC 3339.
    pub acquired_at: String,
    /// RFC 3339, for people.
    pub expires_at: String,
    /// Unix seconds, for the takeover decision.
    pub expires_unix: i64,
}

impl LockRecord {
    fn new(holder: Holder, token: String, acquired_at: String, ttl: Duration) -> Self {
        let expires_unix = clock::unix_now() + ttl.as_secs().max(1) as i64;
        let expires_at = time::OffsetDateTime::from_unix_timestamp(expires_unix)
            .map(clock::rfc3339)
            .unwrap_or_default();
        Self {
            holder,
            token,
            acquired_at,
            expires_at,
            expires_unix,
        }
    }

    /// Whether the lease ran out.
    pub fn is_expired(&self) -> bool {
        clock::unix_now() >= self.expires_unix
    }
}

/// A held lock. Renew it with [`Lease::heartbeat`]; give it back with [`Lease::release`].
#[derive(Debug, Clone)]
pub struct Lease {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    record: Arc<Mutex<LockRecord>>,
    version: Arc<Mutex<Option<UpdateVersion>>>,
    ttl: Duration,
}

/// The current lock, if any.
pub async fn read(target: &Target) -> Result<Option<LockRecord>, LockError> {
    Ok(read_versioned(target.store.as_ref(), &target.key(LOCK_KEY))
        .await?
        .map(|(r, _)| r))
}

async fn read_versioned(
    store: &dyn ObjectStore,
    path: &ObjectPath,
) -> Result<Option<(LockRecord, UpdateVersion)>, LockError> {
    match store.get(path).await {
        Ok(got) => {
            let version = UpdateVersion {
                e_tag: got.meta.e_tag.clone(),
                version: got.meta.version.clone(),
            };
            let bytes = got.bytes().await?;
            Ok(Some((serde_json::from_slice(&bytes)?, version)))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn payload(record: &LockRecord) -> Result<PutPayload, LockError> {
    Ok(PutPayload::from(Bytes::from(serde_json::to_vec_pretty(
        record,
    )?)))
}

fn version_of(r: &object_store::PutResult) -> UpdateVersion {
    UpdateVersion {
        e_tag: r.e_tag.clone(),
        version: r.version.clone(),
    }
}

/// Takes the lock for `holder` for `ttl`, taking over an expired one.
pub async fn acquire(target: &Target, holder: Holder, ttl: Duration) -> Result<Lease, LockError> {
    let store = target.store.clone();
    let path = target.key(LOCK_KEY);
    let token = format!("{:016x}", clock::random_u64());
    let record = LockRecord::new(holder, token, clock::now(), ttl);
    let create = PutOptions::from(PutMode::Create);
    let version = match store.put_opts(&path, payload(&record)?, create).await {
        Ok(r) => version_of(&r),
        Err(object_store::Error::AlreadyExists { .. }) => {
            take_over(store.as_ref(), &path, &record).await?
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Lease {
        store,
        path,
        record: Arc::new(Mutex::new(record)),
        version: Arc::new(Mutex::new(Some(version))),
        ttl,
    })
}

async fn take_over(
    store: &dyn ObjectStore,
    path: &ObjectPath,
    record: &LockRecord,
) -> Result<UpdateVersion, LockError> {
    let Some((current, version)) = read_versioned(store, path).await? else {
        // Released between our create and our read: try once more.
        let r = store
            .put_opts(path, payload(record)?, PutMode::Create.into())
            .await
            .map_err(held_or_store_none)?;
        return Ok(version_of(&r));
    };
    if !current.is_expired() {
        return Err(LockError::Held(Box::new(current)));
    }
    tracing::warn!(
        holder = %current.holder.operation_id,
        instance = %current.holder.instance_id,
        expired = %current.expires_at,
        "taking over an expired bucket lock"
    );
    match store
        .put_opts(path, payload(record)?, PutMode::Update(version).into())
        .await
    {
        Ok(r) => Ok(version_of(&r)),
        Err(object_store::Error::NotImplemented { .. }) => {
            store.delete(path).await.or_else(ignore_not_found)?;
            let r = store
                .put_opts(path, payload(record)?, PutMode::Create.into())
                .await
                .map_err(held_or_store_none)?;
            Ok(version_of(&r))
        }
        Err(object_store::Error::Precondition { .. }) => {
            // Someone else took it over first.
            match read_versioned(store, path).await? {
                Some((r, _)) => Err(LockError::Held(Box::new(r))),
                None => Err(LockError::Lost),
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn held_or_store_none(e: object_store::Error) -> LockError {
    match e {
        object_store::Error::AlreadyExists { .. } => LockError::Lost,
        e => LockError::Store(e),
    }
}

fn ignore_not_found(e: object_store::Error) -> Result<(), object_store::Error> {
    match e {
        object_store::Error::NotFound { .. } => Ok(()),
        e => Err(e),
    }
}

impl Lease {
    /// What the lock says now.
    pub fn record(&self) -> LockRecord {
        self.record
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Extends the lease by its ttl, if we still hold it.
    pub async fn renew(&self) -> Result<(), LockError> {
        let mut next = self.record();
        let renewed = LockRecord::new(
            next.holder.clone(),
            next.token.clone(),
            next.acquired_at.clone(),
            self.ttl,
        );
        next.expires_at = renewed.expires_at;
        next.expires_unix = renewed.expires_unix;
        let version = self
            .version
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let result = match version {
            Some(v) => {
                self.store
                    .put_opts(&self.path, payload(&next)?, PutMode::Update(v).into())
                    .await
            }
            None => Err(object_store::Error::NotImplemented {
                operation: "update".into(),
                implementer: "lease".into(),
            }),
        };
        let new_version = match result {
            Ok(r) => version_of(&r),
            Err(object_store::Error::NotImplemented { .. }) => {
                self.check_still_ours().await?;
                let r = self
                    .store
                    .put_opts(&self.path, payload(&next)?, PutMode::Overwrite.into())
                    .await?;
                version_of(&r)
            }
            Err(
                object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. },
            ) => {
                return Err(LockError::Lost);
            }
            Err(e) => return Err(e.into()),
        };
        *self.version.lock().unwrap_or_else(PoisonError::into_inner) = Some(new_version);
        *self.record.lock().unwrap_or_else(PoisonError::into_inner) = next;
        Ok(())
    }

    async fn check_still_ours(&self) -> Result<(), LockError> {
        let token = self.record().token;
        match read_versioned(self.store.as_ref(), &self.path).await? {
            Some((r, _)) if r.token == token => Ok(()),
            _ => Err(LockError::Lost),
        }
    }

    /// Renews the lease every `interval` until `stop` fires; fires `lost` (and returns) if
    /// the lease cannot be kept. A failed renewal is retried until the lease would expire.
    pub async fn heartbeat(
        &self,
        interval: Duration,
        stop: CancellationToken,
        lost: CancellationToken,
    ) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
            match self.renew().await {
                Ok(()) => {}
                Err(LockError::Lost) => {
                    tracing::error!("the bucket lock was lost; stopping the operation");
                    lost.cancel();
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot renew the bucket lock; will retry");
                    if self.record().is_expired() {
                        lost.cancel();
                        return;
                    }
                }
            }
        }
    }

    /// Gives the lock back (only if it is still ours).
    pub async fn release(&self) -> Result<(), LockError> {
        match self.check_still_ours().await {
            Ok(()) => self
                .store
                .delete(&self.path)
                .await
                .or_else(ignore_not_found)
                .map_err(Into::into),
            Err(LockError::Lost) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Deletes the lock if `owned` says it is ours (used at start to release the lock of an
/// operation that was interrupted). Returns whether it deleted it.
pub async fn release_if(
    target: &Target,
    owned: impl Fn(&LockRecord) -> bool,
) -> Result<bool, LockError> {
    let path = target.key(LOCK_KEY);
    match read_versioned(target.store.as_ref(), &path).await? {
        Some((r, _)) if owned(&r) => {
            target.store.delete(&path).await.or_else(ignore_not_found)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(op: &str) -> Holder {
        Holder {
            instance_id: "i-1".into(),
            namespace: "demo".into(),
            host: "h".into(),
            pid: 1,
            operation_id: op.into(),
        }
    }

    fn target() -> (tempfile::TempDir, Target) {
        let d = tempfile::tempdir().unwrap();
        let t = Target::local(d.path().join("bucket"), None).unwrap();
        (d, t)
    }

    #[tokio::test]
    async fn one_holder_at_a_time_then_release() {
        let (_d, t) = target();
        let a = acquire(&t, holder("op-a"), Duration::from_secs(60))
            .await
            .unwrap();
        let err = acquire(&t, holder("op-b"), Duration::from_secs(60))
            .await
            .unwrap_err();
        let LockError::Held(r) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(r.holder.operation_id, "op-a");
        assert!(err.to_string().contains("op-a"));
        a.renew().await.unwrap();
        a.release().await.unwrap();
        assert!(read(&t).await.unwrap().is_none());
        let b = acquire(&t, holder("op-b"), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(read(&t).await.unwrap().unwrap().holder.operation_id, "op-b");
        // A lease that was taken over is lost and releasing it leaves the new one alone.
        drop(b);
    }

    #[tokio::test]
    async fn an_expired_lock_is_taken_over_and_its_holder_loses_it() {
        let (_d, t) = target();
        let dead = acquire(&t, holder("op-dead"), Duration::from_secs(1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let live = acquire(&t, holder("op-live"), Duration::from_secs(60))
            .await
            .unwrap();
        assert!(matches!(dead.renew().await, Err(LockError::Lost)));
        dead.release().await.unwrap();
        assert_eq!(
            read(&t).await.unwrap().unwrap().holder.operation_id,
            "op-live"
        );
        assert!(
            release_if(&t, |r| r.holder.operation_id == "op-live")
                .await
                .unwrap()
        );
        drop(live);
        assert!(read(&t).await.unwrap().is_none());
    }
}
