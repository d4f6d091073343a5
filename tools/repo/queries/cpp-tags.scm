; inherits: c
; C++ tags for Fathom, on top of the C patterns. Out-of-class definitions such as
; `double Matrix::trace() const {...}` are methods scoped to `Matrix`.

(class_specifier name: (type_identifier) @name.definition.class body: (_)) @definition.class
(class_specifier name: (template_type name: (type_identifier) @name.definition.class) body: (_)) @definition.class
(struct_specifier name: (template_type name: (type_identifier) @name.definition.struct) body: (_)) @definition.struct

(namespace_definition
  name: [(namespace_identifier) (nested_namespace_specifier)] @name.definition.module) @definition.module

(alias_declaration name: (type_identifier) @name.definition.type) @definition.type
(concept_definition name: (identifier) @name.definition.type) @definition.type

; Members declared or defined in a class body, `#if` blocks there included: a function
; inside a class is its method (parse.py promotes it by scope). Field names, operators and
; destructors need patterns of their own; plain names are C's functions and prototypes.
(function_definition
  declarator: [
    (function_declarator declarator: [(field_identifier) (operator_name) (destructor_name)] @name.definition.function)
    (pointer_declarator declarator: (function_declarator declarator: [(field_identifier) (operator_name)] @name.definition.function))
    (reference_declarator (function_declarator declarator: [(field_identifier) (operator_name)] @name.definition.function))
  ]) @definition.function

(field_declaration
  declarator: [
    (function_declarator declarator: [(field_identifier) (operator_name) (destructor_name)] @name.definition.function)
    (pointer_declarator declarator: (function_declarator declarator: [(field_identifier) (operator_name)] @name.definition.function))
    (reference_declarator (function_declarator declarator: [(field_identifier) (operator_name)] @name.definition.function))
  ]) @definition.function

(declaration
  declarator: [
    (function_declarator declarator: [(destructor_name) (operator_name)] @name.definition.function)
    (pointer_declarator declarator: (function_declarator declarator: (operator_name) @name.definition.function))
    (reference_declarator (function_declarator declarator: [(identifier) (operator_name)] @name.definition.function))
  ]) @definition.function

; Out-of-class member definitions.
(function_definition
  declarator: [
    (function_declarator declarator: (qualified_identifier
      scope: [(namespace_identifier) @name.scope (template_type name: (type_identifier) @name.scope)]
      name: [(identifier) (destructor_name) (operator_name)] @name.definition.method))
    (pointer_declarator declarator: (function_declarator declarator: (qualified_identifier
      scope: [(namespace_identifier) @name.scope (template_type name: (type_identifier) @name.scope)]
      name: [(identifier) (operator_name)] @name.definition.method)))
    (reference_declarator (function_declarator declarator: (qualified_identifier
      scope: [(namespace_identifier) @name.scope (template_type name: (type_identifier) @name.scope)]
      name: [(identifier) (operator_name)] @name.definition.method)))
  ]) @definition.method

(function_definition
  declarator: (reference_declarator (function_declarator declarator: (identifier) @name.definition.function))) @definition.function

; Namespace-level variables.
(namespace_definition
  body: (declaration_list
    (declaration
      declarator: [
        (identifier) @name.definition.constant
        (init_declarator declarator: (identifier) @name.definition.constant)
      ]) @definition.constant))

; References.
(call_expression
  function: [
    (qualified_identifier name: (identifier) @name.reference.call)
    (qualified_identifier name: (template_function name: (identifier) @name.reference.call))
    (template_function name: (identifier) @name.reference.call)
    (field_expression field: (dependent_name (template_method name: (field_identifier) @name.reference.call)))
    (field_expression field: (template_method name: (field_identifier) @name.reference.call))
  ])

(new_expression type: [
  (type_identifier) @name.reference.class
  (template_type name: (type_identifier) @name.reference.class)
  (qualified_identifier name: (type_identifier) @name.reference.class)
])

(base_class_clause [
  (type_identifier) @name.reference.class
  (template_type name: (type_identifier) @name.reference.class)
  (qualified_identifier name: (type_identifier) @name.reference.class)
  (qualified_identifier name: (template_type name: (type_identifier) @name.reference.class))
])

(template_type name: (type_identifier) @name.reference.type)
(qualified_identifier name: (type_identifier) @name.reference.type)

(using_declaration (qualified_identifier name: (identifier) @name.reference.import))

(raw_string_literal (raw_string_content) @string.content)
