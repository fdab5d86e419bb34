package salesforcetest

import (
	"fmt"
	"strings"
)

// FieldType is the data type of an sObject field, as describe calls name it.
type FieldType string

// The field types the simulator checks.
const (
	// TypeString is a text field of at most Length characters.
	TypeString FieldType = "string"
	// TypeTextArea is a long text field of at most Length characters.
	TypeTextArea FieldType = "textarea"
	// TypeEmail is an email address, checked for shape.
	TypeEmail FieldType = "email"
	// TypePhone is a phone number (text).
	TypePhone FieldType = "phone"
	// TypeURL is a URL (text).
	TypeURL FieldType = "url"
	// TypePicklist is a picklist; with Picklist values it is restricted.
	TypePicklist FieldType = "picklist"
	// TypeDouble is a number.
	TypeDouble FieldType = "double"
	// TypeCurrency is an amount of money (a number).
	TypeCurrency FieldType = "currency"
	// TypeInt is a whole number.
	TypeInt FieldType = "int"
	// TypeBoolean is a checkbox.
	TypeBoolean FieldType = "boolean"
	// TypeDate is a date such as 2026-11-29.
	TypeDate FieldType = "date"
	// TypeDateTime is a timestamp such as 2026-11-29T10:00:00.000+0000.
	TypeDateTime FieldType = "datetime"
	// TypeReference is a lookup to a record of ReferenceTo.
	TypeReference FieldType = "reference"
	// TypeID is a record ID (the Id field; OwnerId).
	TypeID FieldType = "id"
)

// textual reports whether values of t are strings with a length limit.
func (t FieldType) textual() bool {
	switch t {
	case TypeString, TypeTextArea, TypeEmail, TypePhone, TypeURL, TypePicklist:
		return true
	}
	return false
}

// Field describes one field of an sObject.
type Field struct {
	// Name is the API name, e.g. LastName. Names are case-insensitive.
	Name string
	// Label is the name used in error messages; empty means Name.
	Label string
	// Type is the data type.
	Type FieldType
	// Length is the maximum length of a text value; zero means 255 (32,000
	// for TypeTextArea).
	Length int
	// Required makes the field required on create and forbids clearing it
	// (REQUIRED_FIELD_MISSING).
	Required bool
	// Unique makes equal values (case-insensitive) fail with DUPLICATE_VALUE.
	Unique bool
	// ExternalID makes the field usable as an upsert key (PATCH
	// .../sobjects/{Object}/{Field}/{value}, Collections upsert) and in
	// queries by it. Without Unique, several records may hold one value:
	// an upsert by it then answers 300 (several matches).
	ExternalID bool
	// ReadOnly makes writes fail with INVALID_FIELD_FOR_INSERT_UPDATE
	// (system and formula fields).
	ReadOnly bool
	// ReferenceTo is the object a TypeReference field looks up.
	ReferenceTo string
	// Picklist, if not empty, restricts a picklist to these values
	// (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST).
	Picklist []string
	// Default is stored on create when the field is not given.
	Default any
}

// label returns the field's label.
func (f *Field) label() string {
	if f.Label != "" {
		return f.Label
	}
	return f.Name
}

// maxLength returns the field's maximum text length.
func (f *Field) maxLength() int {
	switch {
	case f.Length > 0:
		return f.Length
	case f.Type == TypeTextArea:
		return 32000
	}
	return 255
}

// DuplicateRule blocks or alerts on records that match an existing one on
// all of Fields (case-insensitive, blank values never match). A blocked
// save fails with DUPLICATES_DETECTED. An alerting rule (Block false) lets
// the save through when the request sends Sforce-Duplicate-Rule-Header:
// allowSave=true.
type DuplicateRule struct {
	// Name is the duplicate rule's developer name.
	Name string
	// MatchRule is the matching rule's developer name.
	MatchRule string
	// Fields are the fields that must all match.
	Fields []string
	// Block makes the rule refuse duplicates even with allowSave=true.
	Block bool
	// Message is the error message; empty means "Use one of these records?".
	Message string
}

// ValidationRule is a custom validation rule: when Fails returns true for
// the record's values after the write (keyed by field API name), the save
// fails with FIELD_CUSTOM_VALIDATION_EXCEPTION.
type ValidationRule struct {
	// Name is the rule's name.
	Name string
	// Message is the error message.
	Message string
	// Field is where the error is shown; empty means the top of the page.
	Field string
	// Fails reports whether the record breaks the rule.
	Fails func(values map[string]any) bool
}

// Object describes an sObject type.
type Object struct {
	// Name is the API name, e.g. Contact.
	Name string
	// KeyPrefix is the three-character ID prefix, e.g. 003.
	KeyPrefix string
	// Fields are the object's fields. Id, OwnerId, IsDeleted, CreatedDate,
	// CreatedById, LastModifiedDate, LastModifiedById and SystemModstamp
	// are added by the simulator.
	Fields []Field
	// DuplicateRules are checked on create and update.
	DuplicateRules []DuplicateRule
	// ValidationRules are checked on create and update.
	ValidationRules []ValidationRule
	// AutoAssign runs assignment rules on create unless the request sends
	// Sforce-Auto-Assign: FALSE: the new record's OwnerId becomes
	// [AssignmentQueueID] instead of the API user ([UserID]).
	AutoAssign bool
}

// IDs the simulator's org uses.
const (
	// OrgID is the simulated org's ID.
	OrgID = "00D5g000004ABCDEA4"
	// UserID is the API user: owner of the records it creates.
	UserID = "0055g00000AbCdEAAV"
	// AssignmentQueueID owns records that assignment rules assigned.
	AssignmentQueueID = "00G5g000001QueuEAC"
)

// DefaultObjects returns the default schema: Account (001), Contact (003)
// with a duplicate rule on Email, and Lead (00Q) with a duplicate rule on
// Email and assignment rules.
func DefaultObjects() []Object {
	industries := []string{"Agriculture", "Banking", "Education", "Energy", "Healthcare", "Manufacturing", "Media", "Retail", "Technology", "Other"}
	return []Object{
		{
			Name:      "Account",
			KeyPrefix: "001",
			Fields: []Field{
				{Name: "Name", Label: "Account Name", Type: TypeString, Length: 255, Required: true},
				{Name: "AccountNumber", Label: "Account Number", Type: TypeString, Length: 40},
				{Name: "Website", Type: TypeURL, Length: 255},
				{Name: "Phone", Label: "Account Phone", Type: TypePhone, Length: 40},
				{Name: "Industry", Type: TypePicklist, Length: 255},
				{Name: "Type", Label: "Account Type", Type: TypePicklist, Length: 255},
				{Name: "NumberOfEmployees", Label: "Employees", Type: TypeInt},
				{Name: "AnnualRevenue", Label: "Annual Revenue", Type: TypeCurrency},
				{Name: "Description", Label: "Account Description", Type: TypeTextArea, Length: 32000},
				{Name: "BillingStreet", Label: "Billing Street", Type: TypeTextArea, Length: 255},
				{Name: "BillingCity", Label: "Billing City", Type: TypeString, Length: 40},
				{Name: "BillingState", Label: "Billing State/Province", Type: TypeString, Length: 80},
				{Name: "BillingPostalCode", Label: "Billing Zip/Postal Code", Type: TypeString, Length: 20},
				{Name: "BillingCountry", Label: "Billing Country", Type: TypeString, Length: 80},
			},
		},
		{
			Name:      "Contact",
			KeyPrefix: "003",
			Fields: []Field{
				{Name: "FirstName", Label: "First Name", Type: TypeString, Length: 40},
				{Name: "LastName", Label: "Last Name", Type: TypeString, Length: 80, Required: true},
				{Name: "Email", Type: TypeEmail, Length: 80},
				{Name: "Phone", Label: "Business Phone", Type: TypePhone, Length: 40},
				{Name: "MobilePhone", Label: "Mobile Phone", Type: TypePhone, Length: 40},
				{Name: "Title", Type: TypeString, Length: 128},
				{Name: "Department", Type: TypeString, Length: 80},
				{Name: "AccountId", Label: "Account ID", Type: TypeReference, ReferenceTo: "Account"},
				{Name: "LeadSource", Label: "Lead Source", Type: TypePicklist, Length: 255},
				{Name: "HasOptedOutOfEmail", Label: "Email Opt Out", Type: TypeBoolean, Default: false},
				{Name: "Ext_Id__c", Label: "External ID", Type: TypeString, Length: 255, ExternalID: true, Unique: true},
				{Name: "Legacy_Id__c", Label: "Legacy ID", Type: TypeString, Length: 255, ExternalID: true},
				{Name: "Description", Label: "Contact Description", Type: TypeTextArea, Length: 32000},
				{Name: "MailingCity", Label: "Mailing City", Type: TypeString, Length: 40},
			},
			DuplicateRules: []DuplicateRule{{
				Name: "Standard_Contact_Duplicate_Rule", MatchRule: "Standard_Contact_Match_Rule_v1_1", Fields: []string{"Email"},
			}},
		},
		{
			Name:      "Lead",
			KeyPrefix: "00Q",
			Fields: []Field{
				{Name: "FirstName", Label: "First Name", Type: TypeString, Length: 40},
				{Name: "LastName", Label: "Last Name", Type: TypeString, Length: 80, Required: true},
				{Name: "Company", Type: TypeString, Length: 255, Required: true},
				{Name: "Email", Type: TypeEmail, Length: 80},
				{Name: "Phone", Type: TypePhone, Length: 40},
				{Name: "Title", Type: TypeString, Length: 128},
				{
					Name: "Status", Label: "Lead Status", Type: TypePicklist, Length: 255, Required: true, Default: "Open - Not Contacted",
					Picklist: []string{"Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"},
				},
				{Name: "LeadSource", Label: "Lead Source", Type: TypePicklist, Length: 255},
				{Name: "Industry", Type: TypePicklist, Length: 255, Picklist: industries},
				{Name: "NumberOfEmployees", Label: "Employees", Type: TypeInt},
				{Name: "AnnualRevenue", Label: "Annual Revenue", Type: TypeCurrency},
				{Name: "Website", Type: TypeURL, Length: 255},
				{Name: "Description", Type: TypeTextArea, Length: 32000},
			},
			DuplicateRules: []DuplicateRule{{
				Name: "Standard_Lead_Duplicate_Rule", MatchRule: "Standard_Lead_Match_Rule_v1_0", Fields: []string{"Email"},
			}},
			AutoAssign: true,
		},
	}
}

// systemFields are added to every object.
func systemFields() []Field {
	return []Field{
		{Name: "Id", Label: "Record ID", Type: TypeID, ReadOnly: true},
		{Name: "OwnerId", Label: "Owner ID", Type: TypeID},
		{Name: "IsDeleted", Label: "Deleted", Type: TypeBoolean, ReadOnly: true},
		{Name: "CreatedDate", Label: "Created Date", Type: TypeDateTime, ReadOnly: true},
		{Name: "CreatedById", Label: "Created By ID", Type: TypeID, ReadOnly: true},
		{Name: "LastModifiedDate", Label: "Last Modified Date", Type: TypeDateTime, ReadOnly: true},
		{Name: "LastModifiedById", Label: "Last Modified By ID", Type: TypeID, ReadOnly: true},
		{Name: "SystemModstamp", Label: "System Modstamp", Type: TypeDateTime, ReadOnly: true},
	}
}

// checkSchema validates objects and returns them with system fields added.
func checkSchema(objs []Object) ([]Object, error) {
	seenName := map[string]bool{}
	seenPrefix := map[string]bool{}
	out := make([]Object, 0, len(objs))
	for _, o := range objs {
		if o.Name == "" || len(o.KeyPrefix) != 3 || !alnum(o.KeyPrefix) {
			return nil, fmt.Errorf("salesforcetest: object %q needs a name and a 3-character key prefix", o.Name)
		}
		ln := strings.ToLower(o.Name)
		if seenName[ln] || seenPrefix[o.KeyPrefix] {
			return nil, fmt.Errorf("salesforcetest: duplicate object %q or key prefix %q", o.Name, o.KeyPrefix)
		}
		seenName[ln], seenPrefix[o.KeyPrefix] = true, true
		fields := systemFields()
		names := map[string]bool{}
		for _, f := range fields {
			names[strings.ToLower(f.Name)] = true
		}
		for _, f := range o.Fields {
			if f.Name == "" || names[strings.ToLower(f.Name)] {
				return nil, fmt.Errorf("salesforcetest: object %s: empty or duplicate field %q", o.Name, f.Name)
			}
			names[strings.ToLower(f.Name)] = true
			fields = append(fields, f)
		}
		o.Fields = fields
		out = append(out, o)
	}
	return out, nil
}
