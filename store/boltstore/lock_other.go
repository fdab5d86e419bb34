//go:build !unix

package boltstore

import (
	"os"
	"time"
)

// lockFile does nothing where flock is unavailable; bbolt's own lock still
// keeps a second process out.
func lockFile(*os.File, time.Duration) error { return nil }
