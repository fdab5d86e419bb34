// Package store is the contract between writeback's engine and the durable
// state behind it: what a store implements ([Interface]: installations,
// operation records and the async queue), the records it keeps, the errors
// it returns and the input checks every implementation applies.
//
// An application never calls these methods: it opens a store
// (store/boltstore for one process on a local file, store/memstore for
// tests) and hands it to writeback.Config. Whoever writes a new store
// implements [Interface] and proves it with store/storetest.
//
// The store is dumb, ordered storage: the engine owns every state machine
// and every encoding. Records carry their payload as opaque bytes next to
// the few keys the store must index, so a shared store (say on PostgreSQL,
// for several processes) can implement the same methods with one table per
// record kind.
package store
