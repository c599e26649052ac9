// Package dict is the key dictionary of the engine: it maps entity keys
// (byte strings) to dense uint32 ids, reuses the ids of deleted keys, and
// stores the keys in an arena without per-key pointers, so that tens of
// millions of keys cost the garbage collector nothing. Dict.MarshalBinary and Unmarshal are
// its snapshot format; Dict.Touch warms the cache for a batch of lookups.
package dict
