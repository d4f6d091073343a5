; Bash tags for Fathom: functions, top-level variables, commands run.

(function_definition name: (word) @name.definition.function) @definition.function

(program
  (variable_assignment name: (variable_name) @name.definition.constant) @definition.constant)
(program
  (declaration_command
    (variable_assignment name: (variable_name) @name.definition.constant)) @definition.constant)

(command name: (command_name (word) @name.reference.call))

(string) @string
(raw_string) @string
(ansi_c_string) @string
(heredoc_body) @string.content
