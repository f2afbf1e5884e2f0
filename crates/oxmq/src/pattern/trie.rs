//! Subscription tries: topic prefixes, matched against the start of a message.
//!
//! [`Trie`] is a subscriber's own set of topics (SUB, XSUB), counting repeats, so a topic
//! subscribed twice needs two unsubscribes. [`MultiTrie`] is a publisher's (PUB, XPUB): for
//! each topic, the set of pipes that subscribed to it. Both keep their nodes in one arena and
//! walk it with loops, never recursion: topics come from the network and may be long (a
//! hostile peer must not be able to overflow the stack), and matching a message costs one
//! step per byte of the longest matching topic, however many topics there are.

use bytes::Bytes;

use crate::pipe::PipeId;

type NodeId = u32;
const ROOT: NodeId = 0;

struct Node<V> {
    /// Children by next byte, sorted.
    children: Vec<(u8, NodeId)>,
    parent: NodeId,
    /// The byte on the edge from the parent.
    byte: u8,
    value: V,
}

/// A byte trie of values `V` with `V::default()` meaning "no topic ends here".
struct Arena<V> {
    nodes: Vec<Node<V>>,
    free: Vec<NodeId>,
}

impl<V: Default + IsEmpty> Arena<V> {
    fn new() -> Self {
        Arena {
            nodes: vec![Node { children: Vec::new(), parent: ROOT, byte: 0, value: V::default() }],
            free: Vec::new(),
        }
    }

    fn node(&self, id: NodeId) -> &Node<V> {
        &self.nodes[id as usize]
    }

    fn value_mut(&mut self, id: NodeId) -> &mut V {
        &mut self.nodes[id as usize].value
    }

    fn child(&self, id: NodeId, byte: u8) -> Option<NodeId> {
        let c = &self.node(id).children;
        c.binary_search_by_key(&byte, |&(b, _)| b).ok().map(|i| c[i].1)
    }

    /// The node for `topic`, if it exists.
    fn find(&self, topic: &[u8]) -> Option<NodeId> {
        topic.iter().try_fold(ROOT, |n, &b| self.child(n, b))
    }

    /// The node for `topic`, created if needed.
    fn find_or_insert(&mut self, topic: &[u8]) -> NodeId {
        let mut n = ROOT;
        for &b in topic {
            let pos = self.node(n).children.binary_search_by_key(&b, |&(c, _)| c);
            n = match pos {
                Ok(i) => self.node(n).children[i].1,
                Err(i) => {
                    let new = Node { children: Vec::new(), parent: n, byte: b, value: V::default() };
                    let id = match self.free.pop() {
                        Some(id) => {
                            self.nodes[id as usize] = new;
                            id
                        }
                        None => {
                            self.nodes.push(new);
                            (self.nodes.len() - 1) as NodeId
                        }
                    };
                    self.nodes[n as usize].children.insert(i, (b, id));
                    id
                }
            };
        }
        n
    }

    /// Remove `id` and its ancestors while they hold nothing.
    fn prune(&mut self, mut id: NodeId) {
        while id != ROOT {
            let node = self.node(id);
            if !node.value.is_empty() || !node.children.is_empty() {
                return;
            }
            let (parent, byte) = (node.parent, node.byte);
            let siblings = &mut self.nodes[parent as usize].children;
            if let Ok(i) = siblings.binary_search_by_key(&byte, |&(b, _)| b) {
                siblings.remove(i);
            }
            self.nodes[id as usize].children = Vec::new();
            self.free.push(id);
            id = parent;
        }
    }

    /// Every node on the path of `data` (the root, then one per byte) while it exists: the
    /// topics that are prefixes of `data` end at those whose value is not empty.
    fn prefixes<'a>(&'a self, data: &'a [u8]) -> impl Iterator<Item = NodeId> + 'a {
        let mut next = Some(ROOT);
        let mut bytes = data.iter();
        std::iter::from_fn(move || {
            let n = next?;
            next = bytes.next().and_then(|&b| self.child(n, b));
            Some(n)
        })
    }

    /// Visit every node holding a value, with its topic.
    fn for_each(&self, mut f: impl FnMut(&[u8], NodeId)) {
        // Depth-first with an explicit stack of (node, next child index).
        let mut topic = Vec::new();
        let mut stack: Vec<(NodeId, usize)> = vec![(ROOT, 0)];
        if !self.node(ROOT).value.is_empty() {
            f(&topic, ROOT);
        }
        while let Some((n, i)) = stack.pop() {
            let children = &self.node(n).children;
            if let Some(&(b, c)) = children.get(i) {
                stack.push((n, i + 1));
                topic.push(b);
                if !self.node(c).value.is_empty() {
                    f(&topic, c);
                }
                stack.push((c, 0));
            } else if n != ROOT {
                topic.pop();
            }
        }
    }
}

trait IsEmpty {
    fn is_empty(&self) -> bool;
}

impl IsEmpty for u32 {
    fn is_empty(&self) -> bool {
        *self == 0
    }
}

impl IsEmpty for Vec<PipeId> {
    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}

/// A subscriber's topics, each with how many times it was subscribed.
pub(crate) struct Trie {
    arena: Arena<u32>,
}

impl Default for Trie {
    fn default() -> Self {
        Trie { arena: Arena::new() }
    }
}

impl Trie {
    /// Subscribe; true if the topic is new.
    pub fn add(&mut self, topic: &[u8]) -> bool {
        let n = self.arena.find_or_insert(topic);
        let count = self.arena.value_mut(n);
        *count = count.saturating_add(1);
        *count == 1
    }

    /// Unsubscribe once; true if that was the topic's last subscription.
    pub fn rm(&mut self, topic: &[u8]) -> bool {
        let Some(n) = self.arena.find(topic) else { return false };
        let count = self.arena.value_mut(n);
        if *count == 0 {
            return false;
        }
        *count -= 1;
        let last = *count == 0;
        if last {
            self.arena.prune(n);
        }
        last
    }

    /// Does a topic match the start of `data`?
    pub fn check(&self, data: &[u8]) -> bool {
        self.arena.prefixes(data).any(|n| self.arena.node(n).value > 0)
    }

    /// Every topic (once, however often it was subscribed).
    pub fn topics(&self) -> Vec<Bytes> {
        let mut out = Vec::new();
        self.arena.for_each(|t, _| out.push(Bytes::copy_from_slice(t)));
        out
    }
}

/// What [`MultiTrie::rm`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Removed {
    /// The pipe had no such subscription.
    NotFound,
    /// It was the topic's last pipe.
    Last,
    /// Other pipes still subscribe to the topic.
    OthersRemain,
}

/// A publisher's topics, each with the set of pipes subscribed to it.
pub(crate) struct MultiTrie {
    arena: Arena<Vec<PipeId>>,
}

impl Default for MultiTrie {
    fn default() -> Self {
        MultiTrie { arena: Arena::new() }
    }
}

impl MultiTrie {
    /// Subscribe `pipe` to `topic`; true if no pipe had subscribed to it before.
    pub fn add(&mut self, topic: &[u8], pipe: PipeId) -> bool {
        let n = self.arena.find_or_insert(topic);
        let pipes = self.arena.value_mut(n);
        let first = pipes.is_empty();
        if !pipes.contains(&pipe) {
            pipes.push(pipe);
        }
        first
    }

    /// Unsubscribe `pipe` from `topic`.
    pub fn rm(&mut self, topic: &[u8], pipe: PipeId) -> Removed {
        let Some(n) = self.arena.find(topic) else { return Removed::NotFound };
        let pipes = self.arena.value_mut(n);
        let Some(i) = pipes.iter().position(|&p| p == pipe) else { return Removed::NotFound };
        pipes.swap_remove(i);
        if pipes.is_empty() {
            self.arena.prune(n);
            Removed::Last
        } else {
            Removed::OthersRemain
        }
    }

    /// Remove every subscription of `pipe`, calling `f(topic, last)` for each (`last`: no
    /// other pipe subscribes to it).
    pub fn rm_pipe(&mut self, pipe: PipeId, mut f: impl FnMut(&[u8], bool)) {
        let mut emptied = Vec::new();
        let mut found = Vec::new();
        self.arena.for_each(|topic, n| {
            if self.arena.node(n).value.contains(&pipe) {
                found.push((Bytes::copy_from_slice(topic), n));
            }
        });
        for (topic, n) in found {
            let pipes = self.arena.value_mut(n);
            pipes.retain(|&p| p != pipe);
            let last = pipes.is_empty();
            if last {
                emptied.push(n);
            }
            f(&topic, last);
        }
        for n in emptied {
            self.arena.prune(n);
        }
    }

    /// Append to `out` every pipe subscribed to a topic that `data` starts with (a pipe may
    /// appear more than once).
    pub fn matches(&self, data: &[u8], out: &mut Vec<PipeId>) {
        for n in self.arena.prefixes(data) {
            out.extend_from_slice(&self.arena.node(n).value);
        }
    }

    /// Is nothing subscribed?
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.arena.nodes.len() - self.arena.free.len() == 1 && self.arena.node(ROOT).value.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prefix_matching_including_the_empty_topic() {
        let mut t = Trie::default();
        assert!(!t.check(b"anything"));
        assert!(t.add(b"ab"));
        assert!(t.check(b"ab"));
        assert!(t.check(b"abc"));
        assert!(!t.check(b"a"));
        assert!(!t.check(b"ba"));
        assert!(t.add(b""));
        assert!(t.check(b""));
        assert!(t.check(b"zzz"));
    }

    #[test]
    fn repeated_subscriptions_are_counted() {
        let mut t = Trie::default();
        assert!(t.add(b"x"));
        assert!(!t.add(b"x"));
        assert!(!t.rm(b"x"));
        assert!(t.check(b"x"));
        assert!(t.rm(b"x"));
        assert!(!t.check(b"x"));
        assert!(!t.rm(b"x"), "removing what is not there is a no-op");
    }

    #[test]
    fn topics_lists_each_once_and_pruning_frees_nodes() {
        let mut t = Trie::default();
        for topic in [&b"b"[..], b"a", b"ab", b"ab", b""] {
            t.add(topic);
        }
        let mut topics = t.topics();
        topics.sort();
        assert_eq!(
            topics,
            vec![
                Bytes::from_static(b""),
                Bytes::from_static(b"a"),
                Bytes::from_static(b"ab"),
                Bytes::from_static(b"b")
            ]
        );
        for topic in [&b"b"[..], b"a", b"ab", b"ab", b""] {
            t.rm(topic);
        }
        assert!(t.topics().is_empty());
        assert_eq!(t.arena.nodes.len() - t.arena.free.len(), 1, "only the root is left");
    }

    #[test]
    fn multi_trie_sets_of_pipes() {
        let mut m = MultiTrie::default();
        assert!(m.add(b"a", 1));
        assert!(!m.add(b"a", 2));
        assert!(!m.add(b"a", 1), "same pipe twice is one subscription");
        assert!(m.add(b"ab", 3));
        let mut out = Vec::new();
        m.matches(b"abc", &mut out);
        out.sort();
        assert_eq!(out, vec![1, 2, 3]);
        assert_eq!(m.rm(b"a", 1), Removed::OthersRemain);
        assert_eq!(m.rm(b"a", 1), Removed::NotFound);
        assert_eq!(m.rm(b"zz", 1), Removed::NotFound);
        assert_eq!(m.rm(b"a", 2), Removed::Last);
        let mut gone = Vec::new();
        m.rm_pipe(3, |t, last| gone.push((t.to_vec(), last)));
        assert_eq!(gone, vec![(b"ab".to_vec(), true)]);
        assert!(m.is_empty());
    }

    #[test]
    #[cfg_attr(miri, ignore = "a million-node trie takes hours under Miri; the other trie tests run the same code")]
    fn a_very_long_topic_does_not_recurse() {
        let long = vec![b'x'; 1 << 20];
        let mut m = MultiTrie::default();
        m.add(&long, 1);
        let mut out = Vec::new();
        m.matches(&long, &mut out);
        assert_eq!(out, vec![1]);
        m.rm_pipe(1, |_, _| {});
        assert!(m.is_empty());
    }

    proptest! {
        /// The trie answers as a plain list of topics does.
        #[test]
        #[cfg_attr(miri, ignore = "proptest under Miri: no case finished in 4 min; the unit tests above run the same code")]
        fn matches_a_naive_model(
            ops in proptest::collection::vec((any::<bool>(), proptest::collection::vec(0u8..3, 0..4), 1u64..4), 0..60),
            probes in proptest::collection::vec(proptest::collection::vec(0u8..3, 0..6), 1..20),
        ) {
            let mut m = MultiTrie::default();
            let mut model: Vec<(Vec<u8>, u64)> = Vec::new();
            for (add, topic, pipe) in ops {
                if add {
                    m.add(&topic, pipe);
                    if !model.contains(&(topic.clone(), pipe)) {
                        model.push((topic, pipe));
                    }
                } else {
                    m.rm(&topic, pipe);
                    model.retain(|e| e != &(topic.clone(), pipe));
                }
            }
            for p in probes {
                let mut got = Vec::new();
                m.matches(&p, &mut got);
                got.sort();
                got.dedup();
                let mut want: Vec<u64> = model.iter().filter(|(t, _)| p.starts_with(t)).map(|e| e.1).collect();
                want.sort();
                want.dedup();
                prop_assert_eq!(got, want);
            }
        }
    }
}
