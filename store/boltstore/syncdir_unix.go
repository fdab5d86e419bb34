//go:build unix

package boltstore

import "os"

// syncDir fsyncs the directory dir, so that a file just created in it
// survives a power cut.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
