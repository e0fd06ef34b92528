"""The compiled read path: a covered selection under a root field (``plans``, ``plan``) becomes
one SQL statement that builds the response JSON in PostgreSQL, with the access rules' SQL
renderings (resolvers/policy/) inlined. The resolvers stay the reference answer: anything the
compiler does not cover, and every argument error or NOT_FOUND, is answered by them, and
tests/test_compiled_differential.py proves both paths give the same data, errors and
access-log rows.

- ``selection``: the operation's selection under a root field, fragments, directives and
  variables resolved (graphql-core's own field collection);
- ``emit``: the statement's pieces shared by every type;
- ``types``: the SQL per type and field;
- ``roots``: the root fields and their statements;
- ``answer``: denials and access-log reads out of the statement's JSON;
- ``executor``: the graphql-core executor that runs covered roots compiled.
"""
