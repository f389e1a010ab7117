variable "people" {
  type = map(object({ display_name = string }))
}

resource "random_password" "initial" {
  for_each = var.people
  length   = 20
}

resource "azuread_user" "this" {
  for_each = var.people

  user_principal_name = "${each.key}@contoso.com"
  display_name        = each.value.display_name
  password            = random_password.initial[each.key].result
  other_mails         = ["${each.key}@contoso-alumni.org"]
}
