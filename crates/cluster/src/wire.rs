//! What nodes say to each other, and how it is framed: a 4-byte big-endian length, then one
//! postcard-encoded [`Message`]. Messages name nodes and carry revisions, views and the
//! distributed caches' entries (opaque bytes, logins in progress); none carries a realm key, a
//! password hash or a token.

use serde::{Deserialize, Serialize};

use crate::dist::{CacheName, Entry, Op, Outcome};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// No message comes near this; a larger length means a confused or hostile peer.
const MAX_FRAME: u32 = 1 << 20;

/// One node as its peers know it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Member {
    /// The node name (`--node-name`), also its sticky-session route.
    pub name: String,
    /// `host:port` of its private transport.
    pub address: String,
    /// Its site (`--site`), if named.
    pub site: Option<String>,
    /// When this incarnation started (epoch millis). The oldest member coordinates; a node
    /// restarted under the same name is a new member.
    pub started_at: i64,
}

impl Member {
    /// Ordering for coordinator election: oldest first, the name breaking ties.
    pub(crate) fn rank(&self) -> (i64, &str) {
        (self.started_at, &self.name)
    }
}

/// A cluster view: who is in, who coordinates, and an id that only grows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// Grows with every view any coordinator installs.
    pub id: u64,
    /// The coordinator's name (the oldest member).
    pub coordinator: String,
    /// The members, coordinator first, then by age.
    pub members: Vec<Member>,
}

impl std::fmt::Display for View {
    /// JGroups' notation, which Keycloak's logs made familiar: `[node1|3] (2) [node1, node2]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.members.iter().map(|m| m.name.as_str()).collect();
        write!(
            f,
            "[{}|{}] ({}) [{}]",
            self.coordinator,
            self.id,
            self.members.len(),
            names.join(", ")
        )
    }
}

/// Something every node must apply, acknowledged before the sender's caller gets its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Cached data changed: entries loaded under an older cache revision are stale.
    Revision(i64),
    /// `clear-realm-cache`.
    ClearRealms,
    /// `clear-user-cache`.
    ClearUsers,
    /// `clear-keys-cache`.
    ClearKeys,
}

/// A frame's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Message {
    /// First frame on every connection: which cluster the dialer believes it joins.
    Hello { cluster: String, from: Member },
    /// "I am alive", sent to every known peer every interval, with the newest view id the
    /// sender has seen so that a new coordinator's view id is larger still.
    Heartbeat { from: Member, view_id: u64 },
    /// A coordinator's new view.
    View { from: String, view: View },
    /// An event to apply; answered with `Ack`.
    Notify {
        from: String,
        seq: u64,
        event: Event,
    },
    /// The event numbered `seq` is applied.
    Ack { from: String, seq: u64 },
    /// The sender is shutting down: take it out of the view now rather than after the timeout.
    Leave { from: String },
    /// A distributed-cache operation for the receiver to run as the key's primary owner;
    /// answered with `CacheReply`.
    CacheRequest {
        from: String,
        id: u64,
        cache: CacheName,
        key: String,
        op: Op,
    },
    /// A copy for an owner to keep (`None`: the key was removed at `version`), from the
    /// primary or a state transfer; answered with `CacheReply`.
    Replicate {
        from: String,
        id: u64,
        cache: CacheName,
        key: String,
        entry: Option<Entry>,
        version: u64,
    },
    /// "What do you hold at this key?", asked during a state transfer; answered with
    /// `CacheReply`.
    Peek {
        from: String,
        id: u64,
        cache: CacheName,
        key: String,
    },
    /// The answer to request `id`.
    CacheReply { id: u64, outcome: Outcome },
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} bytes is larger than allowed")]
    TooLarge(u32),
    #[error("undecodable frame: {0}")]
    Decode(#[from] postcard::Error),
}

/// Encodes a message as one frame.
pub(crate) fn encode(msg: &Message) -> Result<Vec<u8>, postcard::Error> {
    let body = postcard::to_stdvec(msg)?;
    let len = u32::try_from(body.len()).map_err(|_| postcard::Error::SerializeBufferFull)?;
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub(crate) async fn read<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Message>, FrameError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len);
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body).await?;
    Ok(Some(postcard::from_bytes(&body)?))
}

/// Writes an encoded frame.
pub(crate) async fn write<W: AsyncWrite + Unpin>(w: &mut W, frame: &[u8]) -> std::io::Result<()> {
    w.write_all(frame).await?;
    w.flush().await
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A member named `name` (shared with the other modules' tests).
    pub(crate) fn member(name: &str) -> Member {
        Member {
            name: name.into(),
            address: "127.0.0.1:7800".into(),
            site: None,
            started_at: 1,
        }
    }

    #[test]
    fn a_view_prints_as_jgroups_does() {
        let v = View {
            id: 3,
            coordinator: "node1".into(),
            members: vec![member("node1"), member("node2")],
        };
        assert_eq!(v.to_string(), "[node1|3] (2) [node1, node2]");
    }

    #[tokio::test]
    async fn frames_round_trip_and_oversized_ones_are_refused() {
        let msg = Message::Notify {
            from: "a".into(),
            seq: 9,
            event: Event::Revision(42),
        };
        let frame = encode(&msg).unwrap();
        let mut r = &frame[..];
        assert_eq!(read(&mut r).await.unwrap(), Some(msg));
        assert_eq!(read(&mut r).await.unwrap(), None);
        let huge = (MAX_FRAME + 1).to_be_bytes();
        let mut r = &huge[..];
        assert!(matches!(read(&mut r).await, Err(FrameError::TooLarge(_))));
    }
}
