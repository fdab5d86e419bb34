package writeback

import "time"

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
