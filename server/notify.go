package server

import (
	"encoding/json"
	"time"

	"github.com/segd-db/segd/index"
)

// Segment notifications and time-relative refreshes.
//
// The engine records every enter and exit of a saved segment in commit
// order. The committer, after each durable batch, drains them and publishes
// one JSON message per change on "segment:<name>" (SPEC §3 Notifications).
// Publishing never blocks: a subscriber whose queue is full is disconnected
// and counted.
//
// A time-relative segment moves when a bucket boundary passes. The refresh
// is an OpTick write through the committer, so the log records when it ran
// and a replay repeats the same versions: the ticker submits one as soon as
// one is due, and every segment read submits one first when one is due.

// segmentEvent is the JSON of one notification.
type segmentEvent struct {
	Segment string `json:"segment"`
	Key     string `json:"key"`
	Change  string `json:"change"`
	Version uint64 `json:"version"`
	Time    int64  `json:"time"`
}

// publishChanges publishes segment changes the engine recorded, once the
// writes that made them are durable. Only the committer's logger calls it,
// so the messages leave in commit order.
func (s *Server) publishChanges(changes []index.Change) {
	if len(changes) == 0 {
		return
	}
	s.metrics.segmentChanges.Add(float64(len(changes)))
	s.explorer.Publish(changes) // the explorer's live feeds; never blocks
	if !s.pubsub.any() {
		return
	}
	for _, c := range changes {
		msg, err := json.Marshal(segmentEvent{Segment: c.Segment, Key: c.Key, Change: changeWord(c.Enter), Version: c.Version, Time: c.Time})
		if err != nil {
			continue
		}
		s.pubsub.publish("segment:"+c.Segment, string(msg))
	}
}

// refreshDue runs a due time-relative refresh through the committer, so
// that the log records it (index.Engine.RefreshDue). Dispatch runs it
// before every command the table marks as reading segments, the explorer
// before its reads, the ticker every 250 ms. If the committer refuses
// writes, the engine still refreshes on read.
func (s *Server) refreshDue() { s.engine.RefreshDue(s.commitWait) }

// commitWait applies a mutation through the committer and waits for it.
func (s *Server) commitWait(m *index.Mutation) (index.Result, error) {
	r, err := s.commits.submit(m)
	if err != nil {
		return index.Result{}, err
	}
	return s.commits.wait(r)
}

// tickLoop refreshes time-relative segments at their boundaries without
// waiting for a command (expireEvents drops expired buckets).
func (s *Server) tickLoop(stop <-chan struct{}) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.refreshDue()
		}
	}
}
