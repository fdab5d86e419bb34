package writeback

import "context"

type resolvedObject struct {
	spec    WriteObjectSpec
	config  WriteObject
	enabled bool
	mapping objectMapping
}
type objectMapping struct {
	inherit        bool
	fields         map[string]string
	unmapped       map[string]bool
	removeUnmapped bool
}

func resolveObject(in *Integration, inst *Installation, name string) (resolvedObject, error) {
	panic("x")
}
func transform(typ WriteType, fields map[string]any, settings map[string]FieldSetting, m objectMapping) (out map[string]any, ifEmpty []string) {
	panic("x")
}
func applyIfEmpty(fields map[string]any, ifEmpty []string, current map[string]any) {}
func (m *Manifest) Integration(name string) (*Integration, bool)             { panic("x") }
func (w *Writer) InstallationByGroup(ctx context.Context, a, b string) (*Installation, error) {
	panic("x")
}
func (w *Writer) Installation(ctx context.Context, a string) (*Installation, error) { panic("x") }
