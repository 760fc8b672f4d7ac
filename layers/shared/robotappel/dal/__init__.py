"""DynamoDB access, and API Gateway's management API (apigateway.py): the only package of the layer that talks to
boto3."""
