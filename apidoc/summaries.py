"""What each route does, in a few words: the summary Swagger UI shows beside the path (Powertools' default
repeats the method and the path). The route's function docstring stays its description."""

ROUTE_SUMMARIES: dict[str, str] = {
    "POST /phoneNumber/addClientPhone": "Register a client phone: Twilio calls it to verify it",
    "GET /phoneNumber/getAllClientPhoneNumbers": "List the organisation's client phones",
    "DELETE /phoneNumber/deletePhoneNumber/{id}": "Delete a client phone, or release a Twilio number",
    "POST /phoneNumber/buyTwilioNumberAndActivate": "Buy a Twilio number and route its calls",
    "GET /phoneNumber/GetTwilioPhoneNumberByClientPhoneNumber/{clientPhoneNumber}": (
        "Find the Twilio number linked to a client phone"
    ),
    "GET /phoneNumber/GetTwilioPhoneNumberByOrg": "List the organisation's Twilio numbers",
    "GET /phoneNumber/getOrgPhoneNumberList": "List the organisation's client phones and Twilio numbers",
    "GET /phoneNumber/getOrgPhoneNumberList/{orgId}": "List an organisation's client phones and Twilio numbers",
    "PATCH /phoneNumber/updatePhoneNumber/{id}": "Rename a Twilio number, change its voice URL or client phone",
    "PUT /phoneNumber/regulatory/{countryCode}": "Set the regulatory bundle and address used to buy in a country",
    "GET /phoneNumber/regulatory": "List the organisation's regulatory defaults",
    "GET /tokens/balance": "Get the organisation's token balance",
    "GET /tokens/ledger": "List the organisation's token ledger, newest first",
    "POST /admin/orgs": "Create an organisation with an opening balance (admin)",
    "POST /admin/orgs/{orgId}/apiKeys": "Issue an API key for an organisation (admin)",
    "GET /admin/orgs/{orgId}/apiKeys": "List an organisation's API keys (admin)",
    "DELETE /admin/apiKeys/{keyId}": "Revoke an API key (admin)",
    "POST /admin/orgs/{orgId}/credits": "Credit tokens to an organisation (admin)",
    "PUT /admin/orgs/{orgId}/usagePlan": "Move an organisation to another usage plan (admin)",
    "PUT /admin/orgs/{orgId}/status": "Suspend or reactivate an organisation, here and at Twilio (admin)",
    "POST /phoneNumber/twilio/validationStatus": "Twilio's caller-ID verification callback",
    "POST /phoneNumber/twilio/callStatus": "Twilio's call status callback: counts finished calls",
    "POST /phoneNumber/twilio/validationStatus/{id}": "Twilio's caller-ID verification callback, for one phone",
    "POST /phoneNumber/twilio/callStatus/{id}": "Twilio's call status callback, for one number",
}
