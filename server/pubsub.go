package server

import (
	"sync"
	"sync/atomic"

	"github.com/tidwall/match"
	"github.com/tidwall/redcon"

	"github.com/segd-db/segd/protocol"
)

// Pub/sub. A connection that subscribes is detached from redcon's loop and
// served by two goroutines of its own: one reads and dispatches its commands,
// one writes the messages queued for it. Publishers never wait: each
// subscriber's queue is bounded, and a subscriber whose queue overflows is
// disconnected and counted in segd_pubsub_dropped_subscribers_total.

type pubsub struct {
	s        *Server
	mu       sync.RWMutex
	channels map[string]map[*subscriber]struct{}
	patterns map[string]map[*subscriber]struct{}
}

type subscriber struct {
	c      *client
	dc     redcon.DetachedConn
	wmu    sync.Mutex // serialises writes to dc
	queue  chan []byte
	chans  map[string]struct{} // guarded by pubsub.mu
	pats   map[string]struct{} // guarded by pubsub.mu
	n      atomic.Int32        // subscriptions, channels and patterns
	done   chan struct{}
	closer sync.Once
}

func newPubSub(s *Server) *pubsub {
	return &pubsub{s: s, channels: map[string]map[*subscriber]struct{}{}, patterns: map[string]map[*subscriber]struct{}{}}
}

// subscribed reports whether c is in subscribed mode.
func (c *client) subscribed() bool { return c.sub != nil && c.sub.n.Load() > 0 }

// attach detaches c's connection from redcon and prepares its subscriber.
func (ps *pubsub) attach(c *client) {
	sub := &subscriber{c: c, queue: make(chan []byte, ps.s.cfg.PubSubQueue), chans: map[string]struct{}{}, pats: map[string]struct{}{}, done: make(chan struct{})}
	c.sub = sub
	sub.dc = c.conn.Detach()
}

// run starts the subscriber's reader and writer once its first reply is out.
func (ps *pubsub) run(c *client) {
	sub := c.sub
	sub.wmu.Lock()
	sub.dc.WriteRaw(c.enc.B)
	sub.dc.Flush()
	sub.wmu.Unlock()
	c.enc.Reset()
	go ps.writeLoop(sub) // readLoop starts in Server.closed, once redcon's loop is done with c
}

func (ps *pubsub) writeLoop(sub *subscriber) {
	for {
		select {
		case <-sub.done:
			return
		case msg := <-sub.queue:
			sub.wmu.Lock()
			sub.dc.WriteRaw(msg)
		drain:
			for i := 0; i < 256; i++ {
				select {
				case m := <-sub.queue:
					sub.dc.WriteRaw(m)
				default:
					break drain
				}
			}
			err := sub.dc.Flush()
			sub.wmu.Unlock()
			if err != nil {
				sub.close()
				return
			}
		}
	}
}

func (ps *pubsub) readLoop(sub *subscriber) {
	c := sub.c
	defer func() {
		sub.close()
		ps.unsubscribeAll(c)
		ps.s.clients.remove(c)
		ps.s.metrics.connections.Dec()
	}()
	for {
		cmd, err := sub.dc.ReadCommand()
		if err != nil {
			return
		}
		c.enc.Reset()
		c.enc.Proto = c.proto
		c.mark = nanotime()
		ps.s.dispatch(c, cmd.Args)
		ps.s.drain(c)
		sub.wmu.Lock()
		sub.dc.WriteRaw(c.enc.B)
		err = sub.dc.Flush()
		sub.wmu.Unlock()
		if err != nil || c.killed.Load() {
			return
		}
	}
}

// close disconnects the subscriber without waiting for a slow reader.
func (sub *subscriber) close() {
	sub.closer.Do(func() {
		close(sub.done)
		if nc := sub.dc.NetConn(); nc != nil {
			nc.Close()
		}
	})
}

func (ps *pubsub) closeAll() {
	ps.mu.RLock()
	var subs []*subscriber
	for _, set := range ps.channels {
		for sub := range set {
			subs = append(subs, sub)
		}
	}
	for _, set := range ps.patterns {
		for sub := range set {
			subs = append(subs, sub)
		}
	}
	ps.mu.RUnlock()
	for _, sub := range subs {
		sub.close()
	}
}

func (ps *pubsub) counts(c *client) (int, int) {
	if c.sub == nil {
		return 0, 0
	}
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return len(c.sub.chans), len(c.sub.pats)
}

// subscribe adds names (channels or patterns) and writes one confirmation each.
func (ps *pubsub) subscribe(c *client, names [][]byte, pattern bool) {
	first := c.sub == nil
	if first {
		ps.attach(c)
	}
	kind, table, mine := "subscribe", ps.channels, c.sub.chans
	if pattern {
		kind, table, mine = "psubscribe", ps.patterns, c.sub.pats
	}
	for _, nb := range names {
		name := string(nb)
		ps.mu.Lock()
		if _, ok := mine[name]; !ok {
			mine[name] = struct{}{}
			set := table[name]
			if set == nil {
				set = map[*subscriber]struct{}{}
				table[name] = set
			}
			set[c.sub] = struct{}{}
			c.sub.n.Add(1)
		}
		ps.mu.Unlock()
		c.enc.Push(3)
		c.enc.BulkString(kind)
		c.enc.BulkString(name)
		c.enc.Int(int64(c.sub.n.Load()))
	}
	if first {
		ps.run(c)
	}
}

// unsubscribe removes names (all when none are given) with a confirmation each.
func (ps *pubsub) unsubscribe(c *client, names [][]byte, pattern bool) {
	kind := "unsubscribe"
	if pattern {
		kind = "punsubscribe"
	}
	var list []string
	if c.sub != nil {
		ps.mu.Lock()
		mine := c.sub.chans
		if pattern {
			mine = c.sub.pats
		}
		if len(names) == 0 {
			for name := range mine {
				list = append(list, name)
			}
		} else {
			for _, n := range names {
				list = append(list, string(n))
			}
		}
		ps.mu.Unlock()
	}
	if len(list) == 0 {
		c.enc.Push(3)
		c.enc.BulkString(kind)
		c.enc.Null()
		c.enc.Int(0)
		return
	}
	for _, name := range list {
		ps.remove(c, name, pattern)
		c.enc.Push(3)
		c.enc.BulkString(kind)
		c.enc.BulkString(name)
		c.enc.Int(int64(c.sub.n.Load()))
	}
}

func (ps *pubsub) remove(c *client, name string, pattern bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	table, mine := ps.channels, c.sub.chans
	if pattern {
		table, mine = ps.patterns, c.sub.pats
	}
	if _, ok := mine[name]; !ok {
		return
	}
	delete(mine, name)
	c.sub.n.Add(-1)
	if set := table[name]; set != nil {
		delete(set, c.sub)
		if len(set) == 0 {
			delete(table, name)
		}
	}
}

func (ps *pubsub) unsubscribeAll(c *client) {
	if c.sub == nil {
		return
	}
	ps.mu.RLock()
	var chans, pats []string
	for n := range c.sub.chans {
		chans = append(chans, n)
	}
	for n := range c.sub.pats {
		pats = append(pats, n)
	}
	ps.mu.RUnlock()
	for _, n := range chans {
		ps.remove(c, n, false)
	}
	for _, n := range pats {
		ps.remove(c, n, true)
	}
}

// any reports whether anyone subscribes to anything.
func (ps *pubsub) any() bool {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return len(ps.channels) > 0 || len(ps.patterns) > 0
}

// publish queues msg for every subscriber of channel and every matching
// pattern, and returns how many received it. It never blocks.
func (ps *pubsub) publish(channel, msg string) int {
	type target struct {
		sub     *subscriber
		pattern string
	}
	ps.mu.RLock()
	var targets []target
	for sub := range ps.channels[channel] {
		targets = append(targets, target{sub: sub})
	}
	for pat, set := range ps.patterns {
		if match.Match(channel, pat) {
			for sub := range set {
				targets = append(targets, target{sub: sub, pattern: pat})
			}
		}
	}
	ps.mu.RUnlock()
	n := 0
	for _, t := range targets {
		select {
		case <-t.sub.done:
			continue // already dropped
		default:
		}
		e := protocol.Enc{Proto: t.sub.c.proto}
		if t.pattern != "" {
			e.Push(4)
			e.BulkString("pmessage")
			e.BulkString(t.pattern)
		} else {
			e.Push(3)
			e.BulkString("message")
		}
		e.BulkString(channel)
		e.BulkString(msg)
		select {
		case t.sub.queue <- e.B:
			n++
			ps.s.metrics.pubsubMessages.Inc()
		default:
			ps.s.metrics.pubsubDropped.Inc()
			ps.s.log.Warn("disconnecting a subscriber whose queue is full", "client", t.sub.c.id, "addr", t.sub.c.addr, "queue", cap(t.sub.queue))
			t.sub.close()
		}
	}
	return n
}

// SUBSCRIBE channel [channel ...]
func cmdSubscribe(s *Server, c *client, args [][]byte) error {
	s.pubsub.subscribe(c, args[1:], false)
	return nil
}

// PSUBSCRIBE pattern [pattern ...]
func cmdPsubscribe(s *Server, c *client, args [][]byte) error {
	s.pubsub.subscribe(c, args[1:], true)
	return nil
}

// UNSUBSCRIBE [channel ...]
func cmdUnsubscribe(s *Server, c *client, args [][]byte) error {
	s.pubsub.unsubscribe(c, args[1:], false)
	return nil
}

// PUNSUBSCRIBE [pattern ...]
func cmdPunsubscribe(s *Server, c *client, args [][]byte) error {
	s.pubsub.unsubscribe(c, args[1:], true)
	return nil
}

// PUBLISH channel message
func cmdPublish(s *Server, c *client, args [][]byte) error {
	c.enc.Int(int64(s.pubsub.publish(string(args[1]), string(args[2]))))
	return nil
}
