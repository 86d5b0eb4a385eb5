"""Plan documents: composed from what the recipient may see (`compose`) and checked as FHIR
documents before they are signed, stored or taken in (`structure`)."""
