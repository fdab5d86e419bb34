package writeback

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The update mask paths [Writer.UpdateInstallation] accepts. A path ending
// in "objects" may be followed by ".<objectName>", and that by a setting
// of the object; see [Writer.UpdateInstallation].
const (
	// MaskConnection replaces the connection.
	MaskConnection = "connection"
	// MaskWriteObjects replaces the whole map of write objects.
	MaskWriteObjects = "config.content.write.objects"
	// MaskReadObjects replaces the whole map of read objects.
	MaskReadObjects = "config.content.read.objects"
)

// The settings of a write or read object a mask path can name.
const (
	settingDeletion        = "deletionSettings"
	settingDeletionEnabled = "deletionSettings.enabled"
	settingFields          = "selectedFieldSettings"
	settingRemoveUnmapped  = "removeUnmappedFields"
	settingMappings        = "selectedFieldMappings"
	settingDestination     = "destination"
)

// The settings of one field a mask path can name.
var fieldLeaves = []string{"default", "writeOnCreate", "writeOnUpdate"}

// maskPath is a parsed update mask path.
type maskPath struct {
	raw     string
	section PatchSection // "" for the connection
	object  string       // "" for the whole map of objects
	setting string       // "" for the whole object; else one of the setting* names
	field   string       // a field of selectedFieldSettings or selectedFieldMappings
	leaf    string       // a setting of that field (fieldLeaves)
}

// parseMaskPath parses a path, or says why it is not one
// [Writer.UpdateInstallation] accepts.
func parseMaskPath(path string) (maskPath, string) {
	p := maskPath{raw: path}
	if path == MaskConnection {
		return p, ""
	}
	var rest string
	switch {
	case path == MaskWriteObjects, path == MaskReadObjects:
		p.section = PatchSection(strings.Split(path, ".")[2])
		return p, ""
	case strings.HasPrefix(path, MaskWriteObjects+"."):
		p.section, rest = PatchWrite, strings.TrimPrefix(path, MaskWriteObjects+".")
	case strings.HasPrefix(path, MaskReadObjects+"."):
		p.section, rest = PatchRead, strings.TrimPrefix(path, MaskReadObjects+".")
	default:
		return p, "unknown path"
	}
	p.object, rest, _ = strings.Cut(rest, ".")
	if p.object == "" {
		return p, "no object name"
	}
	if rest == "" {
		return p, ""
	}
	settings := []string{settingDeletion, settingDeletionEnabled, settingFields, settingRemoveUnmapped}
	fields := settingFields
	if p.section == PatchRead {
		settings, fields = []string{settingMappings, settingDestination}, settingMappings
	}
	if slices.Contains(settings, rest) {
		p.setting = rest
		return p, ""
	}
	field, ok := strings.CutPrefix(rest, fields+".")
	if !ok || field == "" {
		return p, fmt.Sprintf("unknown setting %q of %s object %q (settings: %s)", rest, p.section, p.object, strings.Join(append(settings, fields+".<field>"), ", "))
	}
	p.setting, p.field = fields, field
	if p.section == PatchWrite {
		for _, leaf := range fieldLeaves {
			if f, ok := strings.CutSuffix(field, "."+leaf); ok && f != "" {
				p.field, p.leaf = f, leaf
			}
		}
	}
	return p, ""
}

// checkMask parses an update mask: non-empty, known paths, none repeated or
// covered by another.
func checkMask(mask []string) ([]maskPath, error) {
	if len(mask) == 0 {
		return nil, invalid(ErrInvalidInstallation, "updateMask", "at least one path is required")
	}
	out := make([]maskPath, len(mask))
	for i, path := range mask {
		field := fmt.Sprintf("updateMask[%d]", i)
		p, reason := parseMaskPath(path)
		if reason != "" {
			return nil, invalid(ErrInvalidInstallation, field, "%s: %q", reason, path)
		}
		for j, other := range mask[:i] {
			if other == path {
				return nil, invalid(ErrInvalidInstallation, field, "duplicate path %q", path)
			}
			if strings.HasPrefix(path, other+".") || strings.HasPrefix(other, path+".") {
				return nil, invalid(ErrInvalidInstallation, field, "path %q overlaps updateMask[%d] %q", path, j, other)
			}
		}
		out[i] = p
	}
	return out, nil
}

// checkObject checks that the object a path names exists: a write or read
// object of the integration, and, for a setting of the object, one the
// installation has.
func (p maskPath) checkObject(in *Integration, inst *Installation, field string) error {
	if p.object == "" {
		return nil
	}
	var names []string
	var known, present bool
	if p.section == PatchWrite {
		_, known = in.WriteObject(p.object)
		_, present = inst.Config.Write.Objects[p.object]
		if in.Write != nil {
			for _, o := range in.Write.Objects {
				names = append(names, o.ObjectName)
			}
		}
	} else {
		_, known = in.ReadObject(p.object)
		_, present = inst.Config.Read.Objects[p.object]
		if in.Read != nil {
			for _, o := range in.Read.Objects {
				names = append(names, o.ObjectName)
			}
		}
	}
	if !known {
		return invalid(ErrInvalidInstallation, field, "%q names no %s object of integration %q (%s objects: %s)",
			p.raw, p.section, in.Name, p.section, strings.Join(names, ", "))
	}
	if p.setting != "" && !present {
		return invalid(ErrInvalidInstallation, field, "%q: the installation has no %s object %q; set %s.%s to add it",
			p.raw, p.section, p.object, p.sectionPath(), p.object)
	}
	return nil
}

// sectionPath returns the mask path of the path's map of objects.
func (p maskPath) sectionPath() string {
	if p.section == PatchWrite {
		return MaskWriteObjects
	}
	return MaskReadObjects
}

// absent is the value of a setting that is not set, as [maskPath.value]
// reports it.
const absent = "<absent>"

// value returns the JSON of the value at the path in inst, or absent.
func (p maskPath) value(inst *Installation) string {
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			return absent
		}
		return string(b)
	}
	switch {
	case p.section == "":
		return enc(inst.Connection)
	case p.object == "" && p.section == PatchWrite:
		return enc(inst.Config.Write.Objects)
	case p.object == "":
		return enc(inst.Config.Read.Objects)
	case p.section == PatchRead:
		o, ok := inst.Config.Read.Objects[p.object]
		switch {
		case !ok:
			return absent
		case p.setting == "":
			return enc(o)
		case p.setting == settingDestination:
			return enc(o.Destination)
		case p.field == "":
			return enc(o.SelectedFieldMappings)
		}
		if v, ok := o.SelectedFieldMappings[p.field]; ok {
			return enc(v)
		}
		return absent
	}
	o, ok := inst.Config.Write.Objects[p.object]
	switch {
	case !ok:
		return absent
	case p.setting == "":
		return enc(o)
	case p.setting == settingDeletion:
		return enc(o.DeletionSettings)
	case p.setting == settingDeletionEnabled:
		return enc(o.DeletionSettings != nil && o.DeletionSettings.Enabled)
	case p.setting == settingRemoveUnmapped:
		return enc(o.RemoveUnmappedFields)
	case p.field == "":
		return enc(o.SelectedFieldSettings)
	}
	s, ok := o.SelectedFieldSettings[p.field]
	switch {
	case !ok:
		return absent
	case p.leaf == "default":
		return enc(s.Default)
	case p.leaf == "writeOnCreate":
		return enc(s.WriteOnCreate)
	case p.leaf == "writeOnUpdate":
		return enc(s.WriteOnUpdate)
	}
	return enc(s)
}

// apply copies the value at the path from src into inst, or removes it
// from inst when src lacks it. src is not used afterwards, so its values
// may be shared.
func (p maskPath) apply(inst, src *Installation) {
	switch {
	case p.section == "":
		inst.Connection = src.Connection
		return
	case p.object == "" && p.section == PatchWrite:
		inst.Config.Write.Objects = maps.Clone(src.Config.Write.Objects)
		return
	case p.object == "":
		inst.Config.Read.Objects = maps.Clone(src.Config.Read.Objects)
		return
	case p.section == PatchRead:
		p.applyRead(inst, src)
		return
	}
	from, inSrc := src.Config.Write.Objects[p.object]
	if p.setting == "" {
		if !inSrc {
			delete(inst.Config.Write.Objects, p.object)
			return
		}
		if inst.Config.Write.Objects == nil {
			inst.Config.Write.Objects = map[string]WriteObject{}
		}
		inst.Config.Write.Objects[p.object] = from
		return
	}
	o := inst.Config.Write.Objects[p.object] // checkObject: present
	switch p.setting {
	case settingDeletion:
		o.DeletionSettings = from.DeletionSettings
	case settingDeletionEnabled:
		o.DeletionSettings = &DeletionSettings{Enabled: from.DeletionSettings != nil && from.DeletionSettings.Enabled}
	case settingRemoveUnmapped:
		o.RemoveUnmappedFields = from.RemoveUnmappedFields
	case settingFields:
		if p.field == "" {
			o.SelectedFieldSettings = maps.Clone(from.SelectedFieldSettings)
			break
		}
		s, fromOK := from.SelectedFieldSettings[p.field]
		o.SelectedFieldSettings = maps.Clone(o.SelectedFieldSettings)
		if p.leaf != "" {
			cur := o.SelectedFieldSettings[p.field]
			switch p.leaf {
			case "default":
				cur.Default = s.Default
			case "writeOnCreate":
				cur.WriteOnCreate = s.WriteOnCreate
			case "writeOnUpdate":
				cur.WriteOnUpdate = s.WriteOnUpdate
			}
			s, fromOK = cur, cur != (FieldSetting{})
		}
		if !fromOK {
			delete(o.SelectedFieldSettings, p.field)
			break
		}
		if o.SelectedFieldSettings == nil {
			o.SelectedFieldSettings = map[string]FieldSetting{}
		}
		o.SelectedFieldSettings[p.field] = s
	}
	inst.Config.Write.Objects[p.object] = o
}

// applyRead is apply for a path into a read object.
func (p maskPath) applyRead(inst, src *Installation) {
	from, inSrc := src.Config.Read.Objects[p.object]
	if p.setting == "" {
		if !inSrc {
			delete(inst.Config.Read.Objects, p.object)
			return
		}
		if inst.Config.Read.Objects == nil {
			inst.Config.Read.Objects = map[string]ReadObject{}
		}
		inst.Config.Read.Objects[p.object] = from
		return
	}
	o := inst.Config.Read.Objects[p.object] // checkObject: present
	switch {
	case p.setting == settingDestination:
		o.Destination = from.Destination
	case p.field == "":
		o.SelectedFieldMappings = maps.Clone(from.SelectedFieldMappings)
	default:
		o.SelectedFieldMappings = maps.Clone(o.SelectedFieldMappings)
		if v, ok := from.SelectedFieldMappings[p.field]; ok {
			if o.SelectedFieldMappings == nil {
				o.SelectedFieldMappings = map[string]string{}
			}
			o.SelectedFieldMappings[p.field] = v
		} else {
			delete(o.SelectedFieldMappings, p.field)
		}
	}
	inst.Config.Read.Objects[p.object] = o
}
