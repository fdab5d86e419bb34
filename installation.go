package writeback

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Installation is one customer's install of an integration: which account to
// write to and the customer's write rules. There is at most one per
// (integration, groupRef).
type Installation struct {
	// ID is assigned on create.
	ID string `json:"id"`
	// Integration is the manifest integration name.
	Integration string `json:"integration"`
	// GroupRef identifies the customer; unique per integration.
	GroupRef string `json:"groupRef"`
	// Connection locates the customer's account. It never holds a secret:
	// credentials come from [Config.TokenSource].
	Connection Connection `json:"connection"`
	// Config holds the customer's read and write settings.
	Config InstallationConfig `json:"config"`
	// Revision increases by one with every change.
	Revision int64 `json:"revision"`
	// CreatedAt and UpdatedAt are set by the engine.
	CreatedAt time.Time `json:"createTime"`
	// UpdatedAt is the time of the last change.
	UpdatedAt time.Time `json:"updateTime"`
}

// Connection is a reference to the customer's account at the provider:
// the provider plus what its adapter needs to reach it. It never holds a
// secret.
type Connection struct {
	// Provider is the provider's name; it must match the integration's.
	Provider string `json:"provider"`
	// ID is the application's own reference for the connection, passed to
	// [Config.TokenSource] through the installation; optional.
	ID string `json:"id,omitempty"`
	// InstanceURL is the customer's API host, e.g. a Salesforce instance
	// URL; optional where the provider has one global host.
	InstanceURL string `json:"instanceUrl,omitempty"`
}

// InstallationConfig is an installation's settings, in the shape of the
// hosted API's config.content.
type InstallationConfig struct {
	// Write holds the write objects the customer enabled, with their rules.
	Write WriteConfig `json:"write"`
	// Read holds the customer's read settings, whose field mappings write
	// objects with inheritMapping use.
	Read ReadConfig `json:"read"`
}

// WriteConfig is the write part of an installation's config.
type WriteConfig struct {
	// Objects maps a write object's name to its settings. An object is
	// enabled for write exactly when it is present.
	Objects map[string]WriteObject `json:"objects"`
}

// WriteObject is the customer's settings for one write object.
type WriteObject struct {
	// ObjectName is the object's name; it equals the map key.
	ObjectName string `json:"objectName"`
	// DeletionSettings enables deletes; deletion is off when nil.
	DeletionSettings *DeletionSettings `json:"deletionSettings,omitempty"`
	// SelectedFieldSettings maps a field name, as the application sends it,
	// to its default value and overwrite rules.
	SelectedFieldSettings map[string]FieldSetting `json:"selectedFieldSettings,omitempty"`
	// RemoveUnmappedFields strips every field without a mapping before the
	// write (only with inheritMapping).
	RemoveUnmappedFields bool `json:"removeUnmappedFields,omitempty"`
}

// DeletionSettings says whether records of an object may be deleted.
type DeletionSettings struct {
	// Enabled allows deletes.
	Enabled bool `json:"enabled"`
}

// FieldSetting is a field's default value and overwrite rules.
//
// Precedence, for each write: a value in the request beats the default; the
// default fills the field only when the request lacks it; then the rule for
// the write type decides whether the field, from either source, is written.
type FieldSetting struct {
	// Default is written when the request lacks the field; nil for none.
	Default *DefaultValue `json:"default,omitempty"`
	// WriteOnCreate says whether creates write the field; empty means always.
	WriteOnCreate WriteOnCreate `json:"writeOnCreate,omitempty"`
	// WriteOnUpdate says whether updates write the field; empty means always.
	WriteOnUpdate WriteOnUpdate `json:"writeOnUpdate,omitempty"`
}

// DefaultValue is a field's default. Exactly one field is set.
type DefaultValue struct {
	// StringValue is a string default.
	StringValue *string `json:"stringValue,omitempty"`
	// IntegerValue is an integer default.
	IntegerValue *int64 `json:"integerValue,omitempty"`
	// BooleanValue is a boolean default.
	BooleanValue *bool `json:"booleanValue,omitempty"`
	// NumberValue is a floating-point default.
	NumberValue *float64 `json:"numberValue,omitempty"`
}

// StringDefault returns a string default, for [FieldSetting.Default].
func StringDefault(s string) *DefaultValue { return &DefaultValue{StringValue: &s} }

// IntegerDefault returns an integer default, for [FieldSetting.Default].
func IntegerDefault(n int64) *DefaultValue { return &DefaultValue{IntegerValue: &n} }

// BooleanDefault returns a boolean default, for [FieldSetting.Default].
func BooleanDefault(b bool) *DefaultValue { return &DefaultValue{BooleanValue: &b} }

// NumberDefault returns a floating-point default, for [FieldSetting.Default].
func NumberDefault(f float64) *DefaultValue { return &DefaultValue{NumberValue: &f} }

// WriteOnCreate is the overwrite rule for creates.
type WriteOnCreate string

// The create rules.
const (
	// WriteOnCreateAlways writes the field on create (the default).
	WriteOnCreateAlways WriteOnCreate = "always"
	// WriteOnCreateNever leaves the field out of creates.
	WriteOnCreateNever WriteOnCreate = "never"
)

// WriteOnUpdate is the overwrite rule for updates.
type WriteOnUpdate string

// The update rules.
const (
	// WriteOnUpdateAlways writes the field on update (the default).
	WriteOnUpdateAlways WriteOnUpdate = "always"
	// WriteOnUpdateNever leaves the field out of updates.
	WriteOnUpdateNever WriteOnUpdate = "never"
	// WriteOnUpdateIfEmpty writes the field on update only when the
	// record's current value is unset or the empty string.
	WriteOnUpdateIfEmpty WriteOnUpdate = "ifEmpty"
)

// ReadConfig is the read part of an installation's config.
type ReadConfig struct {
	// Objects maps a read object's name to its settings.
	Objects map[string]ReadObject `json:"objects,omitempty"`
}

// ReadObject is the customer's settings for one read object.
type ReadObject struct {
	// ObjectName is the object's name; it equals the map key.
	ObjectName string `json:"objectName"`
	// Destination is where read records are delivered; unused by writes.
	Destination string `json:"destination,omitempty"`
	// SelectedFieldMappings maps the application's field name (mapToName)
	// to the customer's provider field.
	SelectedFieldMappings map[string]string `json:"selectedFieldMappings,omitempty"`
}

// Limits on installation values.
const (
	maxGroupRef = 256
	// maxInstallationText bounds names, IDs and values in an installation.
	maxInstallationText = 1024
)

// CreateInstallation validates inst and stores it as a new installation,
// returning the stored copy with its ID, Revision 1 and times set (any ID,
// Revision or times in inst are ignored; inst itself is not modified).
//
// The integration must be in the manifest; GroupRef is required (at most
// 256 characters, no control characters) and unique per integration, or the
// error wraps [ErrConflict]. Connection.Provider must be the integration's
// provider (empty means that one), and Connection.InstanceURL, if set, an
// absolute https URL without credentials, query or fragment (http is allowed
// for loopback hosts only). The config is checked as described at
// [Writer.UpdateInstallation]. Validation errors are [*ValidationError]
// values wrapping [ErrInvalidInstallation] ([ErrUnknownIntegration] for the
// integration), and nothing is stored.
func (w *Writer) CreateInstallation(ctx context.Context, inst *Installation) (*Installation, error) {
	if inst == nil {
		return nil, invalid(ErrInvalidInstallation, "installation", "is nil")
	}
	next := cloneInstallation(inst)
	if err := w.validateInstallation(next); err != nil {
		return nil, err
	}
	now := w.now().UTC()
	next.ID = newID(now)
	next.Revision = 1
	next.CreatedAt = now
	next.UpdatedAt = now
	rec, err := installationRecord(next)
	if err != nil {
		return nil, err
	}
	if err := w.store.InsertInstallation(ctx, rec); err != nil {
		return nil, storeError(fmt.Sprintf("create installation for %s/%q", next.Integration, next.GroupRef), err)
	}
	return decodeInstallation(rec)
}

// Installation returns the installation with the given ID, or an error
// wrapping [ErrNotFound].
func (w *Writer) Installation(ctx context.Context, id string) (*Installation, error) {
	rec, err := w.store.Installation(ctx, id)
	if err != nil {
		return nil, storeError(fmt.Sprintf("installation %q", id), err)
	}
	return decodeInstallation(rec)
}

// InstallationByGroup returns the installation of an integration for a
// groupRef. An integration the manifest lacks is an error wrapping
// [ErrUnknownIntegration]; a groupRef without an installation is an error
// wrapping both [ErrUnknownInstallation] and [ErrNotFound].
func (w *Writer) InstallationByGroup(ctx context.Context, integration, groupRef string) (*Installation, error) {
	if _, ok := w.manifest.Integration(integration); !ok {
		return nil, invalid(ErrUnknownIntegration, "integration", "no integration %q in the manifest", integration)
	}
	rec, err := w.store.InstallationByGroup(ctx, integration, groupRef)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: %s/%q: %w", ErrUnknownInstallation, integration, groupRef, ErrNotFound)
		}
		return nil, storeError(fmt.Sprintf("installation %s/%q", integration, groupRef), err)
	}
	return decodeInstallation(rec)
}

// Installations lists the installations of an integration, or of all
// integrations when integration is empty, ordered by ID (which is creation
// order). An integration the manifest lacks is an error wrapping
// [ErrUnknownIntegration], except for an operations-only Writer, which has
// no manifest.
func (w *Writer) Installations(ctx context.Context, integration string) ([]*Installation, error) {
	if integration != "" && !w.opsOnly {
		if _, ok := w.manifest.Integration(integration); !ok {
			return nil, invalid(ErrUnknownIntegration, "integration", "no integration %q in the manifest", integration)
		}
	}
	recs, err := w.store.Installations(ctx, integration)
	if err != nil {
		return nil, storeError("list installations", err)
	}
	out := make([]*Installation, 0, len(recs))
	for _, rec := range recs {
		inst, err := decodeInstallation(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, inst)
	}
	return out, nil
}

// DeleteInstallation removes an installation, or fails with an error
// wrapping [ErrNotFound].
func (w *Writer) DeleteInstallation(ctx context.Context, id string) error {
	if err := w.store.DeleteInstallation(ctx, id); err != nil {
		return storeError(fmt.Sprintf("delete installation %q", id), err)
	}
	return nil
}

// UpdateInstallation applies the paths of mask, taking their values from
// update, and returns the stored result. Other parts of update are ignored.
// The paths are:
//
//   - "connection": replace the connection;
//   - "config.content.write.objects": replace every write object;
//   - "config.content.write.objects.<name>": replace that write object, or
//     remove it (disabling writes to it) when update lacks it;
//   - "config.content.write.objects.<name>.<setting>": set one setting of
//     a write object the installation has, or clear it when update lacks
//     it: deletionSettings, deletionSettings.enabled, removeUnmappedFields,
//     selectedFieldSettings, selectedFieldSettings.<field>, and
//     selectedFieldSettings.<field>.default, .writeOnCreate or
//     .writeOnUpdate;
//   - "config.content.read.objects" and
//     "config.content.read.objects.<name>": the same for read objects,
//     whose settings are selectedFieldMappings,
//     selectedFieldMappings.<mapToName> and destination.
//
// A field whose name contains a dot is set through its object's
// selectedFieldSettings path. An empty mask, any other path, a path naming
// an object that is not a write (or read) object of the integration, a
// setting of an object the installation does not have, or a path given
// twice or covered by another path is a [*ValidationError] wrapping
// [ErrInvalidInstallation] that names the path.
//
// The result is validated whole, as by [Writer.CreateInstallation]. Config
// rules: every write object must be a write object of the integration, with
// ObjectName equal to its key (empty means the key); each field setting may
// have a default with exactly one value set and writeOnCreate in
// {always, never}, writeOnUpdate in {always, never, ifEmpty} (ifEmpty only
// if the provider's Capabilities allow it); RemoveUnmappedFields needs a
// write object with inheritMapping from a read object; every read object
// must be a read object of the integration, and its selectedFieldMappings
// have non-empty names and values. Any error leaves the stored
// installation unchanged.
//
// Concurrent changes are merged: if another change is stored first, the
// mask is applied again to the newer installation, unless the other change
// modified a setting this one modifies (a path of the mask, or a setting
// within or around it, now holds another value than when this change
// began): that is a [*ConflictError], wrapping [ErrConflict], and nothing
// is stored. The error wraps [ErrNotFound] if the installation does not
// exist.
func (w *Writer) UpdateInstallation(ctx context.Context, id string, update *Installation, mask []string) (*Installation, error) {
	if update == nil {
		return nil, invalid(ErrInvalidInstallation, "installation", "is nil")
	}
	paths, err := checkMask(mask)
	if err != nil {
		return nil, err
	}
	src := cloneInstallation(update)
	return w.modifyInstallation(ctx, id, maskChange{paths: paths, src: src, w: w})
}

// installationChange is a change to an installation that can be applied
// again to a newer revision.
type installationChange interface {
	// apply modifies inst, a fresh copy of the stored installation.
	apply(inst *Installation) error
	// touched returns the settings the change modifies, by path, with
	// their values in inst.
	touched(inst *Installation) []setting
}

// setting is one setting of an installation and its value, as JSON.
type setting struct {
	path  string
	value string
}

// maskChange is the change of an update mask.
type maskChange struct {
	paths []maskPath
	src   *Installation
	w     *Writer
}

func (c maskChange) apply(inst *Installation) error {
	in, ok := c.w.manifest.Integration(inst.Integration)
	if !ok {
		return invalid(ErrUnknownIntegration, "integration", "no integration %q in the manifest", inst.Integration)
	}
	for i, p := range c.paths {
		if err := p.checkObject(in, inst, fmt.Sprintf("updateMask[%d]", i)); err != nil {
			return err
		}
	}
	for _, p := range c.paths {
		p.apply(inst, c.src)
	}
	return nil
}

func (c maskChange) touched(inst *Installation) []setting {
	out := make([]setting, len(c.paths))
	for i, p := range c.paths {
		out[i] = setting{path: p.raw, value: p.value(inst)}
	}
	return out
}

// ConflictError reports a change to an installation that lost a race to a
// change that modified the same setting: nothing was stored. Changes to
// other settings are merged and never conflict. It wraps [ErrConflict].
type ConflictError struct {
	// InstallationID is the installation changed.
	InstallationID string
	// Path is the setting both changes modify: an update mask path, or a
	// JSON Pointer into the patched object.
	Path string
	// Revision is the installation's revision that holds the other change.
	Revision int64
}

// Error implements error.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("writeback: update installation %q: %s was changed concurrently (revision %d): %v", e.InstallationID, e.Path, e.Revision, ErrConflict)
}

// Unwrap returns [ErrConflict].
func (e *ConflictError) Unwrap() error { return ErrConflict }

// maxReplaceAttempts bounds how often a change is applied again when
// other changes win the race to store; after a few attempts each waits a
// little, at random, so that racing updaters spread out.
const maxReplaceAttempts = 50

// modifyInstallation loads an installation, applies a change to a copy,
// validates the result and stores it as the next revision. When a
// concurrent change is stored first, it starts over from the newer
// installation, unless that change modified a setting this one modifies.
func (w *Writer) modifyInstallation(ctx context.Context, id string, change installationChange) (*Installation, error) {
	var (
		base    []setting // the touched settings when the change began
		lastErr error
	)
	for attempt := range maxReplaceAttempts {
		if attempt >= 3 {
			if err := pause(ctx, attempt); err != nil {
				return nil, err
			}
		}
		rec, err := w.store.Installation(ctx, id)
		if err != nil {
			return nil, storeError(fmt.Sprintf("installation %q", id), err)
		}
		cur, err := decodeInstallation(rec)
		if err != nil {
			return nil, err
		}
		if base == nil {
			base = change.touched(cur)
		} else if err := conflict(change, base, cur); err != nil {
			return nil, err
		}
		if err := change.apply(cur); err != nil {
			return nil, err
		}
		if err := w.validateInstallation(cur); err != nil {
			return nil, err
		}
		cur.Revision = rec.Revision + 1
		cur.UpdatedAt = w.now().UTC()
		next, err := installationRecord(cur)
		if err != nil {
			return nil, err
		}
		err = w.store.ReplaceInstallation(ctx, next)
		if err == nil {
			return decodeInstallation(next)
		}
		if !errors.Is(err, ErrConflict) {
			return nil, storeError(fmt.Sprintf("update installation %q", id), err)
		}
		lastErr = err
	}
	return nil, fmt.Errorf("writeback: update installation %q: concurrent changes kept winning %d times: %w", id, maxReplaceAttempts, lastErr)
}

// conflict reports a concurrent change, stored in cur, to a setting the
// change modifies: one whose value is no longer what it was when the
// change began, unless it already holds what the change would make of it.
func conflict(change installationChange, base []setting, cur *Installation) error {
	now := change.touched(cur)
	var target []setting
	for i, s := range now {
		if s == base[i] {
			continue
		}
		if target == nil {
			next := cloneInstallation(cur)
			if change.apply(next) == nil {
				target = change.touched(next)
			}
		}
		if target != nil && target[i] == s {
			continue // the other change made the same change
		}
		return &ConflictError{InstallationID: cur.ID, Path: s.path, Revision: cur.Revision}
	}
	return nil
}

// pause waits a random while, longer with the attempt, before a change is
// applied again, or returns ctx's error.
func pause(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(min(attempt, 10)) * int64(time.Millisecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// validateInstallation fills in the defaults of inst (the connection's
// provider, object names equal to their keys) and checks it against the
// manifest and the provider's capabilities.
func (w *Writer) validateInstallation(inst *Installation) error {
	in, ok := w.manifest.Integration(inst.Integration)
	if !ok {
		return invalid(ErrUnknownIntegration, "integration", "no integration %q in the manifest", inst.Integration)
	}
	if inst.GroupRef == "" {
		return invalid(ErrInvalidInstallation, "groupRef", "required")
	}
	if reason := checkText(inst.GroupRef, maxGroupRef); reason != "" {
		return invalid(ErrInvalidInstallation, "groupRef", "%s", reason)
	}
	if err := checkConnection(&inst.Connection, in.Provider); err != nil {
		return err
	}
	caps := Capabilities{}
	if p, ok := w.providers[in.Provider]; ok {
		caps = p.Capabilities()
	}
	for _, name := range slices.Sorted(maps.Keys(inst.Config.Write.Objects)) {
		o := inst.Config.Write.Objects[name]
		if err := checkWriteObject(in, caps, name, &o); err != nil {
			return err
		}
		inst.Config.Write.Objects[name] = o
	}
	for _, name := range slices.Sorted(maps.Keys(inst.Config.Read.Objects)) {
		o := inst.Config.Read.Objects[name]
		if err := checkReadObject(in, name, &o); err != nil {
			return err
		}
		inst.Config.Read.Objects[name] = o
	}
	return nil
}

// checkConnection fills in and checks a connection.
func checkConnection(c *Connection, provider string) error {
	if c.Provider == "" {
		c.Provider = provider
	}
	if c.Provider != provider {
		return invalid(ErrInvalidInstallation, "connection.provider", "is %q but the integration's provider is %q", c.Provider, provider)
	}
	if c.ID != "" {
		if reason := checkText(c.ID, maxInstallationText); reason != "" {
			return invalid(ErrInvalidInstallation, "connection.id", "%s", reason)
		}
	}
	if c.InstanceURL == "" {
		return nil
	}
	const field = "connection.instanceUrl"
	if reason := checkText(c.InstanceURL, maxInstallationText); reason != "" {
		return invalid(ErrInvalidInstallation, field, "%s", reason)
	}
	u, err := url.Parse(c.InstanceURL)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return invalid(ErrInvalidInstallation, field, "must be an absolute URL")
	}
	if u.User != nil {
		// Never echo the URL: it may carry a password.
		return invalid(ErrInvalidInstallation, field, "must not contain credentials")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return invalid(ErrInvalidInstallation, field, "must not have a query or fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopbackHost(u.Hostname()) {
			return invalid(ErrInvalidInstallation, field, "must use https (http only for loopback hosts)")
		}
	default:
		return invalid(ErrInvalidInstallation, field, "must use https")
	}
	return nil
}

// loopbackHost reports whether host is localhost or a loopback IP.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// checkWriteObject fills in and checks one write object of an installation.
func checkWriteObject(in *Integration, caps Capabilities, name string, o *WriteObject) error {
	p := MaskWriteObjects + "." + name
	spec, ok := in.WriteObject(name)
	if !ok {
		return invalid(ErrInvalidInstallation, p, "%q is not a write object of integration %q", name, in.Name)
	}
	if o.ObjectName == "" {
		o.ObjectName = name
	}
	if o.ObjectName != name {
		return invalid(ErrInvalidInstallation, p+".objectName", "is %q but the key is %q", o.ObjectName, name)
	}
	if o.RemoveUnmappedFields {
		if _, read := in.ReadObject(name); !spec.InheritMapping || !read {
			return invalid(ErrInvalidInstallation, p+".removeUnmappedFields", "needs a write object with inheritMapping from a read object")
		}
	}
	for _, field := range slices.Sorted(maps.Keys(o.SelectedFieldSettings)) {
		s := o.SelectedFieldSettings[field]
		fp := p + ".selectedFieldSettings." + field
		if reason := checkText(field, maxInstallationText); reason != "" {
			return invalid(ErrInvalidInstallation, fp, "field name %s", reason)
		}
		if err := checkFieldSetting(caps, fp, s); err != nil {
			return err
		}
	}
	return nil
}

// checkFieldSetting checks one field setting.
func checkFieldSetting(caps Capabilities, p string, s FieldSetting) error {
	if d := s.Default; d != nil {
		n := 0
		for _, set := range []bool{d.StringValue != nil, d.IntegerValue != nil, d.BooleanValue != nil, d.NumberValue != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return invalid(ErrInvalidInstallation, p+".default", "exactly one of stringValue, integerValue, booleanValue and numberValue is required")
		}
		if d.NumberValue != nil && (math.IsNaN(*d.NumberValue) || math.IsInf(*d.NumberValue, 0)) {
			return invalid(ErrInvalidInstallation, p+".default.numberValue", "must be finite")
		}
		if d.StringValue != nil && !utf8.ValidString(*d.StringValue) {
			return invalid(ErrInvalidInstallation, p+".default.stringValue", "not valid UTF-8")
		}
	}
	switch s.WriteOnCreate {
	case "", WriteOnCreateAlways, WriteOnCreateNever:
	default:
		return invalid(ErrInvalidInstallation, p+".writeOnCreate", "%q is not always or never", s.WriteOnCreate)
	}
	switch s.WriteOnUpdate {
	case "", WriteOnUpdateAlways, WriteOnUpdateNever:
	case WriteOnUpdateIfEmpty:
		if !caps.IfEmpty {
			return invalid(ErrInvalidInstallation, p+".writeOnUpdate", "the provider does not support ifEmpty")
		}
	default:
		return invalid(ErrInvalidInstallation, p+".writeOnUpdate", "%q is not always, never or ifEmpty", s.WriteOnUpdate)
	}
	return nil
}

// checkReadObject fills in and checks one read object of an installation.
func checkReadObject(in *Integration, name string, o *ReadObject) error {
	p := MaskReadObjects + "." + name
	if _, ok := in.ReadObject(name); !ok {
		return invalid(ErrInvalidInstallation, p, "%q is not a read object of integration %q", name, in.Name)
	}
	if o.ObjectName == "" {
		o.ObjectName = name
	}
	if o.ObjectName != name {
		return invalid(ErrInvalidInstallation, p+".objectName", "is %q but the key is %q", o.ObjectName, name)
	}
	if o.Destination != "" {
		if reason := checkText(o.Destination, maxInstallationText); reason != "" {
			return invalid(ErrInvalidInstallation, p+".destination", "%s", reason)
		}
	}
	for _, from := range slices.Sorted(maps.Keys(o.SelectedFieldMappings)) {
		to := o.SelectedFieldMappings[from]
		fp := p + ".selectedFieldMappings." + from
		if reason := checkText(from, maxInstallationText); reason != "" {
			return invalid(ErrInvalidInstallation, fp, "mapped name %s", reason)
		}
		if reason := checkText(to, maxInstallationText); reason != "" {
			return invalid(ErrInvalidInstallation, fp, "provider field %s", reason)
		}
	}
	return nil
}

// cloneInstallation returns a deep copy of inst.
func cloneInstallation(inst *Installation) *Installation {
	cp := *inst
	if inst.Config.Write.Objects != nil {
		cp.Config.Write.Objects = make(map[string]WriteObject, len(inst.Config.Write.Objects))
		for k, o := range inst.Config.Write.Objects {
			cp.Config.Write.Objects[k] = cloneWriteObject(o)
		}
	}
	if inst.Config.Read.Objects != nil {
		cp.Config.Read.Objects = make(map[string]ReadObject, len(inst.Config.Read.Objects))
		for k, o := range inst.Config.Read.Objects {
			o.SelectedFieldMappings = maps.Clone(o.SelectedFieldMappings)
			cp.Config.Read.Objects[k] = o
		}
	}
	return &cp
}

// cloneWriteObject returns a deep copy of o.
func cloneWriteObject(o WriteObject) WriteObject {
	if o.DeletionSettings != nil {
		d := *o.DeletionSettings
		o.DeletionSettings = &d
	}
	if o.SelectedFieldSettings != nil {
		settings := make(map[string]FieldSetting, len(o.SelectedFieldSettings))
		for k, s := range o.SelectedFieldSettings {
			if s.Default != nil {
				s.Default = &DefaultValue{
					StringValue:  clonePtr(s.Default.StringValue),
					IntegerValue: clonePtr(s.Default.IntegerValue),
					BooleanValue: clonePtr(s.Default.BooleanValue),
					NumberValue:  clonePtr(s.Default.NumberValue),
				}
			}
			settings[k] = s
		}
		o.SelectedFieldSettings = settings
	}
	return o
}

// clonePtr returns a pointer to a copy of *p, or nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
