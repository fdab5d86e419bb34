package hubspottest

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PropertyType is the type of a HubSpot property.
type PropertyType string

// The property types modelled.
const (
	// TypeString is a single-line or multi-line text property.
	TypeString PropertyType = "string"
	// TypeNumber is a number property (decimal).
	TypeNumber PropertyType = "number"
	// TypeBool is a single checkbox: "true" or "false".
	TypeBool PropertyType = "bool"
	// TypeEnumeration is a dropdown, radio or multiple checkboxes property:
	// one of Options, or several joined by ";" when Multiple is set.
	TypeEnumeration PropertyType = "enumeration"
	// TypeDate is a date: YYYY-MM-DD or epoch milliseconds at midnight UTC.
	TypeDate PropertyType = "date"
	// TypeDateTime is a date and time: ISO 8601 or epoch milliseconds.
	TypeDateTime PropertyType = "datetime"
)

// Property is one property of an object's schema.
type Property struct {
	// Name is the property's internal name, e.g. "email".
	Name string
	// Type is the property's type; empty means TypeString.
	Type PropertyType
	// Options are the allowed values of an enumeration.
	Options []string
	// Multiple allows several options joined by ";".
	Multiple bool
	// Unique rejects a value another record of the object already holds
	// (409 CONFLICT), as HubSpot does for contacts' email.
	Unique bool
	// Email requires a valid email address.
	Email bool
	// ReadOnly rejects writes (HubSpot's calculated and system properties).
	ReadOnly bool
}

// Object is one object type of the simulated account.
type Object struct {
	// Name is the name used in paths, e.g. "contacts" or "p_cars".
	Name string
	// TypeID is the object type ID, e.g. "0-1" for contacts or "2-12345"
	// for a custom object; paths may use it instead of Name.
	TypeID string
	// Label is the upper-case singular name HubSpot uses in some messages,
	// e.g. "CONTACT"; empty means derived from Name.
	Label string
	// Properties is the schema. The system properties hs_object_id,
	// createdate and lastmodifieddate are always added, read-only.
	Properties []Property
}

// AssociationType is a HubSpot-defined or custom association type: a
// record of From may be linked to a record of To with it.
type AssociationType struct {
	// ID is the associationTypeId.
	ID int
	// Category is HUBSPOT_DEFINED, USER_DEFINED or INTEGRATOR_DEFINED.
	Category string
	// From and To are object names.
	From, To string
}

// DefaultObjects returns the schema used when [Options.Objects] is nil.
// Properties are strings unless a type is given:
//
//   - contacts (0-1): email (unique, checked as an email address),
//     firstname, lastname, phone, company, jobtitle, website, city,
//     country, lifecyclestage (enumeration: subscriber, lead,
//     marketingqualifiedlead, salesqualifiedlead, opportunity, customer,
//     evangelist, other), hs_lead_status (enumeration: NEW, OPEN,
//     IN_PROGRESS, OPEN_DEAL, UNQUALIFIED, ATTEMPTED_TO_CONTACT, CONNECTED,
//     BAD_TIMING), annualrevenue (number), hs_email_optout (bool),
//     date_of_birth (date);
//   - companies (0-2): name, domain, city, industry, phone,
//     numberofemployees (number), annualrevenue (number), is_public (bool);
//   - deals (0-3): dealname, amount (number), pipeline, dealstage
//     (enumeration: appointmentscheduled, qualifiedtobuy,
//     presentationscheduled, decisionmakerboughtin, contractsent, closedwon,
//     closedlost), closedate (datetime), hubspot_owner_id;
//   - tickets (0-5): subject, content, hs_pipeline, hs_pipeline_stage,
//     hs_ticket_priority (enumeration: LOW, MEDIUM, HIGH, URGENT).
//
// Every object also gets the read-only system properties hs_object_id,
// createdate and lastmodifieddate (datetime).
func DefaultObjects() []Object {
	return []Object{
		{Name: "contacts", TypeID: "0-1", Label: "CONTACT", Properties: []Property{
			{Name: "email", Unique: true, Email: true},
			{Name: "firstname"}, {Name: "lastname"}, {Name: "phone"}, {Name: "company"},
			{Name: "jobtitle"}, {Name: "website"}, {Name: "city"}, {Name: "country"},
			{Name: "lifecyclestage", Type: TypeEnumeration, Options: []string{"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist", "other"}},
			{Name: "hs_lead_status", Type: TypeEnumeration, Options: []string{"NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED", "BAD_TIMING"}},
			{Name: "annualrevenue", Type: TypeNumber},
			{Name: "hs_email_optout", Type: TypeBool},
			{Name: "date_of_birth", Type: TypeDate},
		}},
		{Name: "companies", TypeID: "0-2", Label: "COMPANY", Properties: []Property{
			{Name: "name"}, {Name: "domain"}, {Name: "city"}, {Name: "industry"}, {Name: "phone"},
			{Name: "numberofemployees", Type: TypeNumber},
			{Name: "annualrevenue", Type: TypeNumber},
			{Name: "is_public", Type: TypeBool},
		}},
		{Name: "deals", TypeID: "0-3", Label: "DEAL", Properties: []Property{
			{Name: "dealname"}, {Name: "amount", Type: TypeNumber}, {Name: "pipeline"},
			{Name: "dealstage", Type: TypeEnumeration, Options: []string{"appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin", "contractsent", "closedwon", "closedlost"}},
			{Name: "closedate", Type: TypeDateTime},
			{Name: "hubspot_owner_id"},
		}},
		{Name: "tickets", TypeID: "0-5", Label: "TICKET", Properties: []Property{
			{Name: "subject"}, {Name: "content"}, {Name: "hs_pipeline"}, {Name: "hs_pipeline_stage"},
			{Name: "hs_ticket_priority", Type: TypeEnumeration, Options: []string{"LOW", "MEDIUM", "HIGH", "URGENT"}},
		}},
	}
}

// DefaultAssociationTypes returns the HubSpot-defined association types
// used when [Options.AssociationTypes] is nil (IDs from HubSpot's table of
// default association type IDs).
func DefaultAssociationTypes() []AssociationType {
	h := "HUBSPOT_DEFINED"
	return []AssociationType{
		{1, h, "contacts", "companies"}, {279, h, "contacts", "companies"},
		{2, h, "companies", "contacts"}, {280, h, "companies", "contacts"},
		{3, h, "deals", "contacts"}, {4, h, "contacts", "deals"},
		{5, h, "deals", "companies"}, {341, h, "deals", "companies"},
		{6, h, "companies", "deals"}, {342, h, "companies", "deals"},
		{15, h, "contacts", "tickets"}, {16, h, "tickets", "contacts"},
		{25, h, "companies", "tickets"}, {26, h, "tickets", "companies"},
		{27, h, "deals", "tickets"}, {28, h, "tickets", "deals"},
	}
}

// systemProperties are added to every object, read-only.
var systemProperties = []Property{
	{Name: "hs_object_id", ReadOnly: true},
	{Name: "createdate", Type: TypeDateTime, ReadOnly: true},
	{Name: "lastmodifieddate", Type: TypeDateTime, ReadOnly: true},
}

var objectNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
var typeIDRE = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// checkObjects validates a schema and adds the system properties.
func checkObjects(objs []Object) ([]Object, error) {
	seen := map[string]bool{}
	out := make([]Object, 0, len(objs))
	for _, o := range objs {
		if !objectNameRE.MatchString(o.Name) {
			return nil, fmt.Errorf("hubspottest: object name %q must be lower case letters, digits and _", o.Name)
		}
		if o.TypeID != "" && !typeIDRE.MatchString(o.TypeID) {
			return nil, fmt.Errorf("hubspottest: object %s: type ID %q is not like 0-1 or 2-12345", o.Name, o.TypeID)
		}
		if seen[o.Name] || (o.TypeID != "" && seen[o.TypeID]) {
			return nil, fmt.Errorf("hubspottest: object %s defined twice", o.Name)
		}
		seen[o.Name], seen[o.TypeID] = true, true
		if o.Label == "" {
			o.Label = strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(o.Name, "s"), "ie"))
		}
		props := slices.Clone(o.Properties)
		names := map[string]bool{}
		for i, p := range props {
			if p.Name == "" || names[p.Name] {
				return nil, fmt.Errorf("hubspottest: object %s: empty or duplicate property %q", o.Name, p.Name)
			}
			names[p.Name] = true
			if p.Type == "" {
				props[i].Type = TypeString
			}
		}
		for _, p := range systemProperties {
			if !names[p.Name] {
				props = append(props, p)
			}
		}
		o.Properties = props
		out = append(out, o)
	}
	return out, nil
}

// property returns the property named name, or nil.
func (o *Object) property(name string) *Property {
	for i := range o.Properties {
		if o.Properties[i].Name == name {
			return &o.Properties[i]
		}
	}
	return nil
}

// propertyError is one invalid property value, as HubSpot's validation
// reports it.
type propertyError struct {
	name    string
	code    string
	message string
}

// normalize checks one value against the property and returns it as
// HubSpot stores it (a string).
func (p *Property) normalize(raw any) (string, *propertyError) {
	var v string
	switch x := raw.(type) {
	case nil:
		return "", nil
	case string:
		v = x
	case bool:
		v = strconv.FormatBool(x)
	case float64:
		v = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return "", &propertyError{p.Name, "INVALID_PROPERTY_VALUE", fmt.Sprintf("Property %q has a value that is not a string, number or boolean", p.Name)}
	}
	if p.ReadOnly {
		return "", &propertyError{p.Name, "READ_ONLY_VALUE", fmt.Sprintf("%s is a read only property; its value cannot be set.", p.Name)}
	}
	if v == "" {
		// An empty string clears the property.
		return "", nil
	}
	switch p.Type {
	case TypeNumber:
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return "", &propertyError{p.Name, "INVALID_DOUBLE", fmt.Sprintf("%s was not a valid number.", v)}
		}
	case TypeBool:
		if v != "true" && v != "false" {
			return "", &propertyError{p.Name, "INVALID_BOOLEAN", fmt.Sprintf("%s was not a valid boolean.", v)}
		}
	case TypeEnumeration:
		vals := []string{v}
		if p.Multiple {
			vals = strings.Split(v, ";")
		}
		for _, s := range vals {
			if !slices.Contains(p.Options, s) {
				return "", &propertyError{p.Name, "INVALID_OPTION", fmt.Sprintf("%s was not one of the allowed options: %s", s, strings.Join(p.Options, ", "))}
			}
		}
	case TypeDate:
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			ms, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil || ms%(24*3600*1000) != 0 {
				return "", &propertyError{p.Name, "INVALID_DATE", fmt.Sprintf("%s is not a valid date; use YYYY-MM-DD or midnight UTC in epoch milliseconds.", v)}
			}
		}
	case TypeDateTime:
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			if _, perr := strconv.ParseInt(v, 10, 64); perr != nil {
				return "", &propertyError{p.Name, "INVALID_DATETIME", fmt.Sprintf("%s is not a valid date and time; use ISO 8601 or epoch milliseconds.", v)}
			}
		}
	}
	if p.Email {
		a, err := mail.ParseAddress(v)
		if err != nil || a.Address != v || !strings.Contains(v[strings.LastIndex(v, "@")+1:], ".") {
			return "", &propertyError{p.Name, "INVALID_EMAIL", fmt.Sprintf("Email address %s is invalid", v)}
		}
	}
	return v, nil
}
