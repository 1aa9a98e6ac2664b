"""The local multi-account AWS for tests and the demo: moto's server plus the AWS
behaviours moto lacks (`aws_gaps`), the hub deployed from template.yaml (`sandbox`),
the demo (`demo`) and the story's world the tests share (`story`).

Import what you need from its module: `template` and `slack` need no moto, so the
contract and unit tests that read the template or check Slack payloads stay light.
"""
