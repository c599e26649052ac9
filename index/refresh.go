package index

// RefreshDue applies a due refresh of time-relative segments (an OpTick)
// through write, the owner's write path, so that its log records when the
// refresh ran and a replay repeats the same versions. Owners call it before
// a read of saved segments: the server before every command its table marks
// as reading segments, the explorer before every API read. With a nil write,
// or nothing due, it does nothing (the engine refreshes by itself on read).
func (e *Engine) RefreshDue(write func(*Mutation) (Result, error)) {
	if write != nil && e.TickDue() {
		_, _ = write(&Mutation{Op: OpTick})
	}
}
