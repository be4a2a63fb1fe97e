"""Protocol fakes for servers that cannot run here (Exchange EWS, Microsoft Graph), built from the documented schemas."""
