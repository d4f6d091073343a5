; Ruby tags for Fathom. A `def` inside a class, module or `class << self` is a method;
; elsewhere it is a function.

(class name: (constant) @name.definition.class) @definition.class
(class name: (scope_resolution scope: (_) @name.scope name: (constant) @name.definition.class)) @definition.class
(module name: (constant) @name.definition.module) @definition.module
(module name: (scope_resolution scope: (_) @name.scope name: (constant) @name.definition.module)) @definition.module

(method name: (_) @name.definition.function) @definition.function
(class body: (body_statement (method name: (_) @name.definition.method) @definition.method))
(module body: (body_statement (method name: (_) @name.definition.method) @definition.method))
(singleton_class body: (body_statement (method name: (_) @name.definition.method) @definition.method))
(singleton_method name: (_) @name.definition.method) @definition.method

(assignment left: (constant) @name.definition.constant) @definition.constant

; References.
(call method: (identifier) @name.reference.call)
(call receiver: (constant) @name.reference.class)
(call receiver: (scope_resolution name: (constant) @name.reference.class))
(superclass (constant) @name.reference.class)
(superclass (scope_resolution name: (constant) @name.reference.class))
(call
  method: (identifier) @_mixin
  arguments: (argument_list (constant) @name.reference.class)
  (#any-of? @_mixin "include" "extend" "prepend"))

(string) @string
(heredoc_body (heredoc_content) @string.content)
