# Contoso identities as code (azuread provider). The plan.json beside this file is what
# `terraform plan -out plan.tfplan && terraform show -json plan.tfplan > plan.json` prints for it;
# it was written by hand from Terraform's JSON output format docs (Terraform cannot be installed
# where dupfix-policy's tests run).

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

data "azuread_domains" "default" {
  only_initial = true
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

# Megan Garcia's account is rebuilt from scratch after the migration.
# dupfix: ignore DUP004,DUP006 replaced on purpose; the runbook purges the old object first (CHG-3402)
resource "azuread_user" "megan" {
  user_principal_name = "megan.garcia@contoso.com"
  display_name        = "Megan Garcia"
  password            = var.initial_password

  lifecycle {
    replace_triggered_by = [terraform_data.migration]
  }
}

resource "terraform_data" "migration" {
  input = "2026-12"
}

resource "azuread_user" "jon" {
  user_principal_name = "jon@contoso.com"
  display_name        = "Jon Cloud"
}

resource "azuread_group" "campaigns" {
  display_name     = "Campaigns"
  mail_enabled     = true
  mail_nickname    = "marketing"
  security_enabled = false
  types            = ["Unified"]
}

resource "azuread_invitation" "partner" {
  for_each = toset(["gwen@fabrikam.com", "li.wei@tailspin.com"])

  user_email_address = each.value
  redirect_url       = "https://myapps.microsoft.com"
}

module "staff" {
  source = "./modules/staff"

  people = {
    "adele.vance" = { display_name = "Adele Vance" }
    "ravi.kumar"  = { display_name = "Ravi Kumar" }
  }
}
