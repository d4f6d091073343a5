; inherits: typescript
; TSX tags for Fathom: TypeScript plus JSX components.

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
