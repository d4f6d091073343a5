; Patterns shared by JavaScript, TypeScript and TSX (not a language of its own:
; javascript-tags.scm and typescript-tags.scm inherit it).

(class_declaration
  name: (_) @name.definition.class) @definition.class

(function_declaration
  name: (identifier) @name.definition.function) @definition.function

(generator_function_declaration
  name: (identifier) @name.definition.function) @definition.function

(method_definition
  name: [(property_identifier) (private_property_identifier)] @name.definition.method) @definition.method

; `const f = () => ...`, `let g = function () {...}`
(lexical_declaration
  (variable_declarator
    name: (identifier) @name.definition.function
    value: [
      (arrow_function body: (_) @body)
      (function_expression body: (_) @body)
      (generator_function body: (_) @body)
    ])) @definition.function

(variable_declaration
  (variable_declarator
    name: (identifier) @name.definition.function
    value: [
      (arrow_function body: (_) @body)
      (function_expression body: (_) @body)
      (generator_function body: (_) @body)
    ])) @definition.function

; Functions assigned to members, named after the member (CommonJS defines its API so):
; `exports.send = function send(...) {...}`, `module.exports.f = () => ...`,
; `this.handler = function () {...}`. `module.exports = function name() {...}` is below.
(assignment_expression
  left: (member_expression
    property: (property_identifier) @name.definition.function)
  right: [
    (function_expression body: (_) @body)
    (arrow_function body: (_) @body)
    (generator_function body: (_) @body)
  ]
  (#not-eq? @name.definition.function "exports")) @definition.function

; `res.send = function send(...)`, `app.use = ...`: methods of the object `res`, `app`
; (not of `exports`, whose members are the module's functions).
(assignment_expression
  left: (member_expression
    object: (identifier) @name.scope
    property: (property_identifier) @name.definition.method)
  right: [
    (function_expression body: (_) @body)
    (arrow_function body: (_) @body)
    (generator_function body: (_) @body)
  ]
  (#not-match? @name.scope "^(exports|module)$")
  (#not-eq? @name.definition.method "exports")) @definition.method

; `Layer.prototype.match = function match(path) {...}`: a method of Layer.
(assignment_expression
  left: (member_expression
    object: (member_expression
      object: (identifier) @name.scope
      property: (property_identifier) @_prototype)
    property: (property_identifier) @name.definition.method)
  right: [
    (function_expression body: (_) @body)
    (arrow_function body: (_) @body)
    (generator_function body: (_) @body)
  ]
  (#eq? @_prototype "prototype")) @definition.method

; `handler = function (req) {...}`: a function assigned to a variable declared earlier.
(assignment_expression
  left: (identifier) @name.definition.function
  right: [
    (function_expression body: (_) @body)
    (arrow_function body: (_) @body)
    (generator_function body: (_) @body)
  ]) @definition.function

; `module.exports = function createApplication() {...}` is named after the function, and
; so are named function expressions passed, returned or called at once
; (`on('end', function onend() {...})`, `return function proxy() {...}`).
(assignment_expression
  left: (member_expression
    object: (identifier) @_module
    property: (property_identifier) @_exports)
  right: [
    (function_expression name: (identifier) @name.definition.function body: (_) @body)
    (generator_function name: (identifier) @name.definition.function body: (_) @body)
  ]
  (#eq? @_module "module")
  (#eq? @_exports "exports")) @definition.function

(arguments
  [
    (function_expression name: (identifier) @name.definition.function)
    (generator_function name: (identifier) @name.definition.function)
  ] @definition.function)
(return_statement
  [
    (function_expression name: (identifier) @name.definition.function)
    (generator_function name: (identifier) @name.definition.function)
  ] @definition.function)
(parenthesized_expression
  [
    (function_expression name: (identifier) @name.definition.function)
    (generator_function name: (identifier) @name.definition.function)
  ] @definition.function)

; Object literals: `{ send: function () {...}, parse: (s) => ... }` (methods written
; `{ parse(s) {...} }` are method_definitions above). Inside `const api = {...}` they are
; methods of `api`.
(pair
  key: [
    (property_identifier) @name.definition.function
    (string (string_fragment) @name.definition.function)
  ]
  value: [
    (function_expression body: (_) @body)
    (arrow_function body: (_) @body)
    (generator_function body: (_) @body)
  ]) @definition.function

(variable_declarator
  name: (identifier) @name.scope
  value: (object)) @scope

; Top-level `const NAME = ...` (exported or not); functions above win over these.
(program
  (lexical_declaration
    "const"
    (variable_declarator name: (identifier) @name.definition.constant)) @definition.constant)

(program
  (export_statement
    declaration: (lexical_declaration
      "const"
      (variable_declarator name: (identifier) @name.definition.constant)) @definition.constant))

; References.
(call_expression
  function: [
    (identifier) @name.reference.call
    (member_expression property: (property_identifier) @name.reference.call)
  ])

(new_expression
  constructor: [
    (identifier) @name.reference.class
    (member_expression property: (property_identifier) @name.reference.class)
  ])

(import_specifier name: (identifier) @name.reference.import)
(import_clause (identifier) @name.reference.import)

(string) @string
(template_string) @string
