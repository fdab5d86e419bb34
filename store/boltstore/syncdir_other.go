//go:build !unix

package boltstore

// syncDir does nothing where directories cannot be fsync'd.
func syncDir(string) error { return nil }
