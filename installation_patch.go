package writeback

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// PatchSection names the part of an installation's config that
// [Writer.PatchInstallationObject] patches.
type PatchSection string

// The patch sections.
const (
	// PatchWrite patches a write object (config.content.write.objects.<name>).
	PatchWrite PatchSection = "write"
	// PatchRead patches a read object (config.content.read.objects.<name>).
	PatchRead PatchSection = "read"
)

// Limits on a JSON Patch given to [Writer.PatchInstallationObject].
const (
	// MaxPatchSize is the largest patch document, in bytes.
	MaxPatchSize = 1 << 20
	// MaxPatchOps is the most operations one patch may hold.
	MaxPatchOps = 1000
	// maxPatchCopySize bounds the bytes copy operations may add.
	maxPatchCopySize = 1 << 20
)

// PatchInstallationObject applies an RFC 6902 JSON Patch to the config of one
// object of an installation, the JSON of a [WriteObject] (section
// [PatchWrite]) or a [ReadObject] ([PatchRead]), and returns the stored
// result. It is the in-process twin of the hosted API's config-content
// patch. For example, to allow deletes of contacts:
//
//	[{"op":"add","path":"/deletionSettings","value":{"enabled":true}}]
//
// An object the installation lacks starts as {"objectName": object}, so a
// patch can enable an object for write; paths are relative to the object.
// The patch must hold 1 to [MaxPatchOps] operations among add, remove,
// replace, move, copy and test, and be at most [MaxPatchSize] bytes.
// Operations on the whole object (path "") other than test are refused:
// to remove an object, and so disable writes to it, use
// [Writer.UpdateInstallation] with the mask path
// "config.content.write.objects.<name>".
//
// The patched JSON must decode strictly (no unknown fields, right types),
// and the whole installation must then validate as described at
// [Writer.UpdateInstallation]. A bad patch, a failing operation (including
// a failing test) or an invalid result is a [*ValidationError] wrapping
// [ErrInvalidInstallation], and nothing is stored. Concurrent changes are
// handled as by UpdateInstallation: the patch is applied again to the newer
// installation, unless the other change modified a value at one of the
// patch's paths (or froms): that is a [*ConflictError], and nothing is
// stored.
func (w *Writer) PatchInstallationObject(ctx context.Context, id string, section PatchSection, object string, patch []byte) (*Installation, error) {
	if section != PatchWrite && section != PatchRead {
		return nil, invalid(ErrInvalidInstallation, "section", "%q is not write or read", section)
	}
	if object == "" {
		return nil, invalid(ErrInvalidInstallation, "object", "required")
	}
	ops, err := decodePatch(patch)
	if err != nil {
		return nil, err
	}
	pc := patchChange{section: section, object: object, ops: ops}
	for _, op := range ops {
		for _, f := range []func() (string, error){op.Path, op.From} {
			if p, err := f(); err == nil && p != "" {
				pc.pointers = append(pc.pointers, p)
			}
		}
	}
	return w.modifyInstallation(ctx, id, pc)
}

// patchChange is the change of a JSON Patch to one object.
type patchChange struct {
	section  PatchSection
	object   string
	ops      jsonpatch.Patch
	pointers []string // the paths and froms of the operations
}

func (c patchChange) apply(inst *Installation) error {
	return applyObjectPatch(inst, c.section, c.object, c.ops)
}

// touched returns the values at the patch's JSON Pointers in the object.
func (c patchChange) touched(inst *Installation) []setting {
	var doc any = absent
	if obj, ok := objectJSON(inst, c.section, c.object); ok {
		var v any
		if json.Unmarshal(obj, &v) == nil {
			doc = v
		}
	}
	out := make([]setting, len(c.pointers))
	for i, p := range c.pointers {
		out[i] = setting{path: p, value: pointerValue(doc, p)}
	}
	return out
}

// objectJSON returns the JSON of an object of inst, and whether it has it.
func objectJSON(inst *Installation, section PatchSection, object string) ([]byte, bool) {
	var (
		v  any
		ok bool
	)
	if section == PatchWrite {
		v, ok = inst.Config.Write.Objects[object]
	} else {
		v, ok = inst.Config.Read.Objects[object]
	}
	if !ok {
		return nil, false
	}
	b, err := json.Marshal(v)
	return b, err == nil
}

// pointerValue returns the JSON of the value an RFC 6901 pointer locates
// in doc, or absent.
func pointerValue(doc any, pointer string) string {
	cur := doc
	for tok := range strings.SplitSeq(strings.TrimPrefix(pointer, "/"), "/") {
		if pointer == "" {
			break
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return absent
		}
		if cur, ok = m[tok]; !ok {
			return absent
		}
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return absent
	}
	return string(b)
}

// decodePatch decodes and checks a JSON Patch document.
func decodePatch(patch []byte) (jsonpatch.Patch, error) {
	if len(patch) > MaxPatchSize {
		return nil, invalid(ErrInvalidInstallation, "patch", "larger than %d bytes", MaxPatchSize)
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(patch, &raw); err != nil || raw == nil {
		return nil, invalid(ErrInvalidInstallation, "patch", "not a JSON list of operations")
	}
	if len(raw) == 0 {
		return nil, invalid(ErrInvalidInstallation, "patch", "at least one operation is required")
	}
	if len(raw) > MaxPatchOps {
		return nil, invalid(ErrInvalidInstallation, "patch", "more than %d operations", MaxPatchOps)
	}
	for i, op := range raw {
		field := fmt.Sprintf("patch[%d]", i)
		var kind string
		if err := json.Unmarshal(op["op"], &kind); err != nil {
			return nil, invalid(ErrInvalidInstallation, field+".op", "a string is required")
		}
		switch kind {
		case "add", "remove", "replace", "move", "copy", "test":
		default:
			return nil, invalid(ErrInvalidInstallation, field+".op", "%q is not add, remove, replace, move, copy or test", kind)
		}
		var path string
		if err := json.Unmarshal(op["path"], &path); err != nil {
			return nil, invalid(ErrInvalidInstallation, field+".path", "a string is required")
		}
		if path == "" && kind != "test" {
			return nil, invalid(ErrInvalidInstallation, field+".path", "the whole object cannot be patched; use UpdateInstallation to replace or remove it")
		}
		switch kind {
		case "add", "replace", "test":
			if _, ok := op["value"]; !ok {
				return nil, invalid(ErrInvalidInstallation, field+".value", "required")
			}
		case "move", "copy":
			var from string
			if err := json.Unmarshal(op["from"], &from); err != nil {
				return nil, invalid(ErrInvalidInstallation, field+".from", "a string is required")
			}
		}
	}
	ops, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return nil, invalid(ErrInvalidInstallation, "patch", "not a JSON Patch: %v", err)
	}
	return ops, nil
}

// applyObjectPatch applies a decoded patch to one object of inst.
func applyObjectPatch(inst *Installation, section PatchSection, object string, ops jsonpatch.Patch) error {
	var (
		doc any
		ok  bool
	)
	if section == PatchWrite {
		doc, ok = inst.Config.Write.Objects[object]
		if !ok {
			doc = WriteObject{ObjectName: object}
		}
	} else {
		doc, ok = inst.Config.Read.Objects[object]
		if !ok {
			doc = ReadObject{ObjectName: object}
		}
	}
	field := fmt.Sprintf("config.content.%s.objects.%s", section, object)
	before, err := json.Marshal(doc)
	if err != nil {
		return invalid(ErrInvalidInstallation, field, "cannot encode the current object: %v", err)
	}
	opts := jsonpatch.NewApplyOptions()
	opts.SupportNegativeIndices = false
	opts.AccumulatedCopySizeLimit = maxPatchCopySize
	after, err := applyPatch(ops, before, opts)
	if err != nil {
		return invalid(ErrInvalidInstallation, "patch", "%v", err)
	}
	if len(after) == 0 || after[0] != '{' {
		return invalid(ErrInvalidInstallation, field, "the patched object is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(after))
	dec.DisallowUnknownFields()
	if section == PatchWrite {
		var o WriteObject
		if err := dec.Decode(&o); err != nil {
			return invalid(ErrInvalidInstallation, field, "%v", err)
		}
		if inst.Config.Write.Objects == nil {
			inst.Config.Write.Objects = map[string]WriteObject{}
		}
		inst.Config.Write.Objects[object] = o
		return nil
	}
	var o ReadObject
	if err := dec.Decode(&o); err != nil {
		return invalid(ErrInvalidInstallation, field, "%v", err)
	}
	if inst.Config.Read.Objects == nil {
		inst.Config.Read.Objects = map[string]ReadObject{}
	}
	inst.Config.Read.Objects[object] = o
	return nil
}

// applyPatch applies ops to doc, turning a panic of the patch library on
// unusual input into an error.
func applyPatch(ops jsonpatch.Patch, doc []byte, opts *jsonpatch.ApplyOptions) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("cannot apply the patch: %v", r)
		}
	}()
	return ops.ApplyWithOptions(doc, opts)
}
