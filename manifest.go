package writeback

// Manifest is an amp.yaml-style document: the integrations an application
// offers, with the objects each reads and writes. Build one in Go or parse
// one with [ParseManifest].
type Manifest struct {
	// SpecVersion is the manifest format version, e.g. "1.0.0".
	SpecVersion string `yaml:"specVersion" json:"specVersion"`
	// Integrations are the integrations; names are unique.
	Integrations []Integration `yaml:"integrations" json:"integrations"`
}

// Integration is one integration of a manifest: a provider and the objects
// read from and written to it.
type Integration struct {
	// Name identifies the integration: [a-z0-9-_], at most 64 characters.
	Name string `yaml:"name" json:"name"`
	// DisplayName is shown to people; optional, at most 100 characters.
	DisplayName string `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	// Provider is the provider's name, e.g. "hubspot" or "salesforce".
	Provider string `yaml:"provider" json:"provider"`
	// Read lists the objects read, whose mappings write objects can inherit.
	Read *ReadSpec `yaml:"read,omitempty" json:"read,omitempty"`
	// Write lists the objects that can be written.
	Write *WriteSpec `yaml:"write,omitempty" json:"write,omitempty"`
}

// ReadSpec is the read section of an integration.
type ReadSpec struct {
	// Objects are the read objects; object names are unique.
	Objects []ReadObjectSpec `yaml:"objects" json:"objects"`
}

// ReadObjectSpec is one read object, with the fields customers map.
type ReadObjectSpec struct {
	// ObjectName is the provider object name, e.g. "contacts" or "Account".
	ObjectName string `yaml:"objectName" json:"objectName"`
	// Destination is where read records are delivered; unused by writes.
	Destination string `yaml:"destination,omitempty" json:"destination,omitempty"`
	// MapToName is the application's name for the object (object mapping),
	// e.g. "company" for Salesforce "account". With inheritMapping a write
	// can name the object either way.
	MapToName string `yaml:"mapToName,omitempty" json:"mapToName,omitempty"`
	// RequiredFields are always read.
	RequiredFields []FieldSpec `yaml:"requiredFields,omitempty" json:"requiredFields,omitempty"`
	// OptionalFields are read if the customer selects (or maps) them.
	OptionalFields []FieldSpec `yaml:"optionalFields,omitempty" json:"optionalFields,omitempty"`
}

// FieldSpec is one field of a read object.
//
// With FieldName alone the field keeps its provider name. With MapToName
// alone the customer picks the provider field (the installation's
// selectedFieldMappings). With both, the field is mapped to FieldName unless
// the installation maps it elsewhere.
type FieldSpec struct {
	// FieldName is the provider field name.
	FieldName string `yaml:"fieldName,omitempty" json:"fieldName,omitempty"`
	// MapToName is the application's name for the field.
	MapToName string `yaml:"mapToName,omitempty" json:"mapToName,omitempty"`
	// MapToDisplayName is shown to the customer when mapping.
	MapToDisplayName string `yaml:"mapToDisplayName,omitempty" json:"mapToDisplayName,omitempty"`
}

// WriteSpec is the write section of an integration.
type WriteSpec struct {
	// Objects are the write objects; object names are unique.
	Objects []WriteObjectSpec `yaml:"objects" json:"objects"`
}

// WriteObjectSpec is one write object.
type WriteObjectSpec struct {
	// ObjectName is the provider object name (case-sensitive), e.g.
	// "contacts", "Account" or "touchpoints__c". Required.
	ObjectName string `yaml:"objectName" json:"objectName"`
	// InheritMapping makes writes use the read object's field and object
	// mappings: the application sends mapped names and the engine writes the
	// customer's fields. Default false.
	InheritMapping bool `yaml:"inheritMapping,omitempty" json:"inheritMapping,omitempty"`
}
