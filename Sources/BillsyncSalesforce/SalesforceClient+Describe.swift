import Foundation

extension SalesforceClient {
    /// The fields an upsert must set to create a record of `object`, from its describe
    /// (createable, not nillable, not defaulted on create: what Salesforce answers
    /// REQUIRED_FIELD_MISSING for). One call; the sink asks once per object.
    public func fieldsRequiredOnCreate(object: String) async throws -> Set<String> {
        let answer = try await call("GET", "sobjects/\(Self.pathComponent(object))/describe", body: nil, contentType: nil)
        guard answer.status == 200, let describe = (try? JSONSerialization.jsonObject(with: answer.data)) as? [String: Any],
              let fields = describe["fields"] as? [[String: Any]] else { throw Self.failure(answer) }
        return Set(fields.compactMap { field -> String? in
            guard let name = field["name"] as? String, field["createable"] as? Bool == true, field["nillable"] as? Bool == false,
                  field["defaultedOnCreate"] as? Bool != true else { return nil }
            return name
        })
    }
}
