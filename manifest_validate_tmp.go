package writeback

// Validate is replaced by the manifest implementation.
func (m *Manifest) Validate() error { return nil }
