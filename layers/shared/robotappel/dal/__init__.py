"""DynamoDB access: the only package of the layer that talks to boto3."""
