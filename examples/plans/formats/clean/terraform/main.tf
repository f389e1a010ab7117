# Contoso identities as code (azuread provider): a plan with nothing to complain about.
# plan.json beside this file is what `terraform show -json plan.tfplan` prints for it, written by
# hand from Terraform's JSON output format docs (Terraform cannot be installed where the tests run).

terraform {
  required_providers {
    azuread = {
      source  = "hashicorp/azuread"
      version = "~> 2.53"
    }
  }
}

variable "initial_password" {
  type      = string
  sensitive = true
}

resource "azuread_user" "nina" {
  user_principal_name = "nina.park@contoso.com"
  display_name        = "Nina Park"
  given_name          = "Nina"
  surname             = "Park"
  password            = var.initial_password
}

resource "azuread_user" "bob" {
  user_principal_name = "bob@contoso.com"
  display_name        = "Robert Jones"
  mail                = "robert.jones@contoso.com"
}

resource "azuread_invitation" "partner" {
  for_each = toset(["li.wei@tailspin.com"])

  user_email_address = each.value
  redirect_url       = "https://myapps.microsoft.com"
}
