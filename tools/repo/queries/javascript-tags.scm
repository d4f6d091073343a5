; inherits: ecmascript
; JavaScript (and JSX) tags for Fathom, on top of the shared ECMAScript patterns.

; Class fields: `count = 0;`, `#secret;`
(field_definition
  property: [(property_identifier) (private_property_identifier)] @name.definition.field) @definition.field

(class_heritage (identifier) @name.reference.class)
(class_heritage (member_expression property: (property_identifier) @name.reference.class))

; JSX components (capitalised; lower-case tags are HTML elements).
(jsx_opening_element
  name: [
    (identifier) @name.reference.class
    (member_expression property: (property_identifier) @name.reference.class)
  ]
  (#match? @name.reference.class "^[A-Z]"))

(jsx_self_closing_element
  name: [
    (identifier) @name.reference.class
    (member_expression property: (property_identifier) @name.reference.class)
  ]
  (#match? @name.reference.class "^[A-Z]"))
