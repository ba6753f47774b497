//! Who is in the cluster: failure detection by heartbeats from every node to every node, and
//! views installed by a coordinator, as JGroups' `FD_ALL` + `GMS` + `MERGE` do for Keycloak.
//!
//! The rules, which keep every node's log telling the same story:
//! - A peer is alive while it was heard from within the failure timeout.
//! - The coordinator is the oldest node among those alive (itself included); only it installs
//!   views, and only when the set of alive nodes differs from its current view.
//! - A view id is one more than any view id the coordinator has seen, in a view or in a
//!   heartbeat, so ids only grow, across coordinator changes and partition merges alike.
//! - A node accepts a view that names it and is newer than the one it has.
//!
//! Pure state: the caller feeds it what arrived and the time, and sends what it returns.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::wire::{Member, View};

/// What this node knows of one peer.
#[derive(Debug, Clone)]
struct Peer {
    /// Known from a heartbeat (complete), or only from discovery (name and address).
    member: Member,
    last_heard: Option<Instant>,
}

/// One node's membership state.
#[derive(Debug)]
pub(crate) struct Membership {
    me: Member,
    timeout: Duration,
    /// No view before this: a starting node first listens for the cluster it may join, so
    /// three nodes started at once do not each log a view of one.
    settle_until: Instant,
    peers: HashMap<String, Peer>,
    /// Addresses to dial whose node names are not known yet (DNS and static discovery).
    seeds: Vec<String>,
    view: Option<View>,
    max_seen: u64,
}

impl Membership {
    pub(crate) fn new(me: Member, timeout: Duration, now: Instant) -> Self {
        Membership {
            me,
            timeout,
            settle_until: now + timeout / 2,
            peers: HashMap::new(),
            seeds: Vec::new(),
            view: None,
            max_seen: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn me(&self) -> &Member {
        &self.me
    }

    pub(crate) fn view(&self) -> Option<&View> {
        self.view.as_ref()
    }

    pub(crate) fn max_seen(&self) -> u64 {
        self.max_seen
    }

    /// A peer found through discovery: dial it, even if it never spoke to us.
    pub(crate) fn discovered(&mut self, name: &str, address: &str, started_at: i64) {
        if name == self.me.name {
            return;
        }
        let peer = self.peers.entry(name.to_owned()).or_insert_with(|| Peer {
            member: Member {
                name: name.to_owned(),
                address: address.to_owned(),
                site: None,
                started_at,
            },
            last_heard: None,
        });
        if peer.last_heard.is_none() {
            peer.member.address = address.to_owned();
            peer.member.started_at = started_at;
        }
    }

    /// Addresses found by DNS or given as a list: dialled until a node answers from them.
    pub(crate) fn seeded(&mut self, addresses: Vec<String>) {
        self.seeds = addresses
            .into_iter()
            .filter(|a| *a != self.me.address)
            .collect();
    }

    /// A heartbeat arrived.
    pub(crate) fn heard(&mut self, from: Member, view_id: u64, now: Instant) {
        self.max_seen = self.max_seen.max(view_id);
        if from.name == self.me.name {
            return;
        }
        self.peers.insert(
            from.name.clone(),
            Peer {
                member: from,
                last_heard: Some(now),
            },
        );
    }

    /// A peer said it is leaving: it is no longer alive, though still dialled in case it
    /// comes back under the same name.
    pub(crate) fn left(&mut self, name: &str) {
        if let Some(p) = self.peers.get_mut(name) {
            p.last_heard = None;
        }
    }

    /// Forgets peers that were neither heard from nor discovered for a long time.
    pub(crate) fn forget_older_than(&mut self, horizon: Instant, still_discovered: &[String]) {
        self.peers.retain(|name, p| {
            still_discovered.contains(name) || p.last_heard.is_some_and(|t| t >= horizon)
        });
    }

    /// Every peer to send heartbeats to: the alive, the suspected and the merely discovered.
    pub(crate) fn addresses(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .peers
            .values()
            .map(|p| (p.member.name.clone(), p.member.address.clone()))
            .collect();
        for seed in &self.seeds {
            if !out.iter().any(|(_, a)| a == seed) {
                out.push((seed.clone(), seed.clone()));
            }
        }
        out
    }

    /// The address of a peer by name.
    pub(crate) fn address_of(&self, name: &str) -> Option<&str> {
        self.peers.get(name).map(|p| p.member.address.as_str())
    }

    fn alive_at(&self, p: &Peer, now: Instant) -> bool {
        p.last_heard
            .is_some_and(|t| now.saturating_duration_since(t) < self.timeout)
    }

    /// Names of the peers heard from within the timeout.
    pub(crate) fn alive_names(&self, now: Instant) -> Vec<String> {
        self.peers
            .values()
            .filter(|p| self.alive_at(p, now))
            .map(|p| p.member.name.clone())
            .collect()
    }

    /// Until when this node's picture of its view is trustworthy: it has heard from every
    /// other member within the timeout, measured from the last heartbeat of the quietest.
    pub(crate) fn lease_until(&self, now: Instant) -> Instant {
        let Some(view) = &self.view else {
            return now;
        };
        let mut until = now + self.timeout;
        for m in view.members.iter().filter(|m| m.name != self.me.name) {
            match self.peers.get(&m.name).and_then(|p| p.last_heard) {
                Some(t) => until = until.min(t + self.timeout),
                None => return now,
            }
        }
        until
    }

    /// Called every interval: the view to install and send, when this node coordinates and the
    /// alive set changed.
    pub(crate) fn tick(&mut self, now: Instant) -> Option<View> {
        if now < self.settle_until {
            return None;
        }
        let mut members: Vec<Member> = self
            .peers
            .values()
            .filter(|p| self.alive_at(p, now))
            .map(|p| p.member.clone())
            .collect();
        members.push(self.me.clone());
        members.sort_by(|a, b| a.rank().cmp(&b.rank()));
        if members[0].name != self.me.name {
            return None;
        }
        // Unchanged, unless another coordinator has installed a newer view meanwhile (this node
        // was paused, or cut off): then the members must hear from this one again.
        if let Some(v) = &self.view
            && v.coordinator == self.me.name
            && v.members == members
            && v.id >= self.max_seen
        {
            return None;
        }
        let id = self.max_seen.max(self.view.as_ref().map_or(0, |v| v.id)) + 1;
        let view = View {
            id,
            coordinator: self.me.name.clone(),
            members,
        };
        self.install(view.clone());
        Some(view)
    }

    /// A coordinator's view arrived; true when this node installed it.
    pub(crate) fn offer(&mut self, view: View, now: Instant) -> bool {
        self.max_seen = self.max_seen.max(view.id);
        if !view.members.iter().any(|m| m == &self.me) {
            return false;
        }
        if self.view.as_ref().is_some_and(|v| v.id >= view.id) {
            return false;
        }
        // A member named in the view is alive as of now: the coordinator just heard from it,
        // and a node that has not yet heard a peer itself must not expire its lease at once.
        for m in view.members.iter().filter(|m| m.name != self.me.name) {
            let peer = self.peers.entry(m.name.clone()).or_insert_with(|| Peer {
                member: m.clone(),
                last_heard: Some(now),
            });
            peer.member = m.clone();
            if peer.last_heard.is_none() {
                peer.last_heard = Some(now);
            }
        }
        self.install(view);
        true
    }

    fn install(&mut self, view: View) {
        self.max_seen = self.max_seen.max(view.id);
        self.view = Some(view);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn member(name: &str, started_at: i64) -> Member {
        Member {
            name: name.into(),
            address: format!("{name}:7800"),
            site: None,
            started_at,
        }
    }

    const T: Duration = Duration::from_secs(5);

    /// Delivers every node's heartbeat to every other node at `now`, except across `cut`.
    fn gossip(nodes: &mut [Membership], now: Instant, cut: &[(usize, usize)]) {
        let beats: Vec<(Member, u64)> = nodes
            .iter()
            .map(|n| {
                (
                    n.me().clone(),
                    n.max_seen().max(n.view().map_or(0, |v| v.id)),
                )
            })
            .collect();
        for (i, n) in nodes.iter_mut().enumerate() {
            for (j, (m, id)) in beats.iter().enumerate() {
                let blocked = cut.contains(&(i, j)) || cut.contains(&(j, i));
                if i != j && !blocked {
                    n.heard(m.clone(), *id, now);
                }
            }
        }
    }

    /// Runs a tick on every node and delivers the views, except across `cut`.
    fn round(nodes: &mut [Membership], now: Instant, cut: &[(usize, usize)]) {
        gossip(nodes, now, cut);
        let mut sent = Vec::new();
        for (i, n) in nodes.iter_mut().enumerate() {
            if let Some(v) = n.tick(now) {
                sent.push((i, v));
            }
        }
        for (i, v) in sent {
            for (j, n) in nodes.iter_mut().enumerate() {
                let blocked = cut.contains(&(i, j)) || cut.contains(&(j, i));
                if i != j && !blocked {
                    n.offer(v.clone(), now);
                }
            }
        }
    }

    fn views(nodes: &[Membership]) -> Vec<String> {
        nodes
            .iter()
            .map(|n| n.view().map(|v| v.to_string()).unwrap_or_default())
            .collect()
    }

    #[test]
    fn nodes_started_together_agree_on_one_view_coordinated_by_the_oldest() {
        let t0 = Instant::now();
        let mut nodes: Vec<Membership> = (1..=3)
            .map(|i| Membership::new(member(&format!("node{i}"), i), T, t0))
            .collect();
        round(&mut nodes, t0, &[]);
        assert_eq!(
            views(&nodes),
            vec![String::new(); 3],
            "settling: no view yet"
        );
        round(&mut nodes, t0 + T, &[]);
        let expected = "[node1|1] (3) [node1, node2, node3]";
        assert_eq!(views(&nodes), vec![expected; 3]);
        // Nothing changes: no new view.
        round(&mut nodes, t0 + T + Duration::from_secs(1), &[]);
        assert_eq!(views(&nodes), vec![expected; 3]);
    }

    #[test]
    fn a_dead_coordinator_is_replaced_and_ids_keep_growing_through_a_partition_and_merge() {
        let t0 = Instant::now();
        let mut nodes: Vec<Membership> = (1..=3)
            .map(|i| Membership::new(member(&format!("node{i}"), i), T, t0))
            .collect();
        round(&mut nodes, t0 + T, &[]);
        // node1 goes silent: after the timeout node2 coordinates the two left.
        let (_, rest) = nodes.split_at_mut(1);
        let later = t0 + T * 3;
        round(rest, later, &[]);
        assert_eq!(views(rest), vec!["[node2|2] (2) [node2, node3]"; 2]);
        // node1 comes back; it is the oldest, so it coordinates the merged view, whose id is
        // larger than any view either side had.
        let back = later + Duration::from_secs(1);
        round(&mut nodes, back, &[]);
        round(&mut nodes, back + Duration::from_millis(10), &[]);
        assert_eq!(
            views(&nodes),
            vec!["[node1|3] (3) [node1, node2, node3]"; 3]
        );

        // A partition {node1} | {node2, node3}, then it heals.
        let cut = [(0, 1), (0, 2)];
        let p = back + T * 2;
        round(&mut nodes, p, &cut);
        let v = views(&nodes);
        assert_eq!(v[0], "[node1|4] (1) [node1]");
        assert_eq!(v[1], "[node2|4] (2) [node2, node3]");
        round(&mut nodes, p + Duration::from_secs(1), &[]);
        round(&mut nodes, p + Duration::from_secs(2), &[]);
        assert_eq!(
            views(&nodes),
            vec!["[node1|5] (3) [node1, node2, node3]"; 3]
        );
    }

    #[test]
    fn the_lease_ends_with_the_silence_of_any_member() {
        let t0 = Instant::now();
        let mut nodes: Vec<Membership> = (1..=2)
            .map(|i| Membership::new(member(&format!("node{i}"), i), T, t0))
            .collect();
        round(&mut nodes, t0 + T, &[]);
        let heard = t0 + T;
        assert_eq!(
            nodes[1].lease_until(heard + Duration::from_secs(1)),
            heard + T
        );
        // A node alone in its view holds the lease for itself.
        let mut alone = Membership::new(member("solo", 1), T, t0);
        alone.tick(t0 + T);
        let now = t0 + T * 4;
        assert_eq!(alone.lease_until(now), now + T);
    }
}
